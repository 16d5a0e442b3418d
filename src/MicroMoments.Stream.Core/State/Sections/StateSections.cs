namespace MicroMoments.Stream.Core.State.Sections;

/// <summary>The sections of format 2 this version knows, in id order (the order they are written in).</summary>
internal static class StateSections
{
    /// <summary>The header's id: the first section of every value (<see cref="StateHeader"/>).</summary>
    public const int HeaderId = 1;

    public static readonly StateSection[] All =
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
        new BehaviourSection(),
        new RetentionSection(),
        new BanditArmsSection(),
        new LastSeenSection(),
    ];

    /// <summary>The sections with count bounds (their own <see cref="StateSection.Evict"/>): run after every event.</summary>
    public static readonly StateSection[] Evicting = Overriding(nameof(StateSection.Evict));

    /// <summary>The sections with collections or strings (their own <see cref="StateSection.UpperBoundBytes"/>): summed after every event.</summary>
    public static readonly StateSection[] Sized = Overriding(nameof(StateSection.UpperBoundBytes));

    private static readonly StateSection?[] ById = Index();

    /// <summary>Whether <paramref name="section"/> has its own <paramref name="member"/> rather than the base's default.</summary>
    public static bool Overrides(StateSection section, string member) =>
        (section.GetType().GetMethod(member) ?? section.GetType().GetProperty(member)!.GetMethod)!.DeclaringType != typeof(StateSection);

    private static StateSection[] Overriding(string member) => [.. All.Where(s => Overrides(s, member))];

    /// <summary>The section with <paramref name="id"/>, or null when this version does not know it.</summary>
    public static StateSection? Find(int id) => id < ById.Length ? ById[id] : null;

    private static StateSection?[] Index()
    {
        var byId = new StateSection?[All.Max(s => s.Id) + 1];
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
