namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>The sections of format 2 this version knows, in id order (the order they are written in).</summary>
internal static class StateSections
{
    /// <summary>The header's id: the first section of every value (<see cref="StateHeader"/>).</summary>
    public const int HeaderId = 1;

    public static readonly IStateSection[] All =
    [
        new ArrivalSection(),
        new IdentitySection(),
        new FeatureUsageSection(),
        new EngagementSection(),
        new SessionsSection(),
        new TaskTimesSection(),
        new OnboardingSection(),
        new ActiveDaysSection(),
        new ActiveHoursSection(),
        new CountWindowsSection(),
        new TimerListSection(),
        new InterventionMemorySection(),
        new DismissalPausesSection(),
        new AutoPauseSection(),
        new SentLogSection(),
        new DeliveryScheduleSection(),
        new WaitingSection(),
        new UnservedCrossingsSection(),
        new EventTimeSection(),
    ];

    private static readonly IStateSection?[] ById = Index();

    /// <summary>The section with <paramref name="id"/>, or null when this version does not know it.</summary>
    public static IStateSection? Find(int id) => id < ById.Length ? ById[id] : null;

    private static IStateSection?[] Index()
    {
        var byId = new IStateSection?[All.Max(s => s.Id) + 1];
        var last = HeaderId;
        foreach (var section in All)
        {
            if (section.Id <= last)
            {
                throw new InvalidOperationException($"state section {section.Id} is out of id order or reuses an id");
            }
            byId[last = section.Id] = section;
        }
        return byId;
    }
}
