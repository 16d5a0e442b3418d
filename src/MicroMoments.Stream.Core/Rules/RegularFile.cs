using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace MicroMoments.Stream.Core.Rules;

/// <summary>
/// Reads a file only when it is a regular file, and never blocks on one that is not: a FIFO, a device, a socket or a
/// directory is refused with an <see cref="IOException"/> naming its kind.
/// </summary>
/// <remarks>
/// .NET exposes no file type on Unix (<see cref="FileSystemInfo.Attributes"/> shows a FIFO as a normal file), and its
/// open blocks on a FIFO until a writer appears: a rules path that was a FIFO blocked a thread-pool thread for good,
/// stopped every later reload and held up shutdown. On Linux the file is opened with <c>O_NONBLOCK</c> (a FIFO then
/// opens at once) and its type read from the open descriptor with <c>statx</c>, so it cannot be swapped between the
/// check and the read. Elsewhere a file of length 0 (what a FIFO or a device reports) is refused before it is opened.
/// </remarks>
public static class RegularFile
{
    /// <summary>The file's bytes, or an <see cref="IOException"/> naming the path when it is not a regular file or has more than <paramref name="maxBytes"/>.</summary>
    public static byte[] ReadAllBytes(string path, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            throw new IOException($"{path} is a directory, not a regular file");
        }
        using var handle = OperatingSystem.IsLinux() && Linux.Supported ? Linux.OpenRegular(path) : OpenChecked(path);
        var length = RandomAccess.GetLength(handle);
        if (length > maxBytes)
        {
            throw new IOException($"{path} is {length} bytes; at most {maxBytes} are read");
        }
        var bytes = new byte[length];
        var read = 0;
        while (read < bytes.Length)
        {
            var n = RandomAccess.Read(handle, bytes.AsSpan(read), read);
            if (n == 0)
            {
                break; // shrank while read: what is there is what the next change event will reload
            }
            read += n;
        }
        return read == bytes.Length ? bytes : bytes[..read];
    }

    private static SafeFileHandle OpenChecked(string path)
    {
        var info = new FileInfo(path);
        if (info.Exists && info.Length == 0)
        {
            throw new IOException($"{path} is empty or not a regular file (a FIFO or a device)");
        }
        return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
    }

    private static class Linux
    {
        private const int ReadOnlyNonBlockingCloseOnExec = 0x800 | 0x80000; // O_RDONLY | O_NONBLOCK | O_CLOEXEC
        private const int EmptyPath = 0x1000; // AT_EMPTY_PATH: statx of the descriptor itself
        private const uint TypeMask = 0x1; // STATX_TYPE
        private const int ModeOffset = 28; // struct statx's stx_mode, the same on every Linux architecture
        private const int FileTypeBits = 0xF000;
        private const int RegularFileType = 0x8000;

        /// <summary>Where the open flags above are the kernel's values (they differ on a few architectures .NET does not run on).</summary>
        public static bool Supported => RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64 or Architecture.Arm or Architecture.X86;

        public static SafeFileHandle OpenRegular(string path)
        {
            // Looked at before it is opened: opening some devices acts (a watchdog arms, a tty changes its line state). The
            // check on the open descriptor below stays, for a path swapped in between.
            if (TypeAt(path) is { } before and not RegularFileType)
            {
                throw new IOException($"{path} is {KindOf(before)}, not a regular file");
            }
            var fd = Open(path, ReadOnlyNonBlockingCloseOnExec);
            if (fd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                const int NoSuchFile = 2, NoDevice = 6; // ENOENT; ENXIO is what opening a socket gives
                throw errno switch
                {
                    NoSuchFile => new FileNotFoundException($"{path} does not exist", path),
                    NoDevice => new IOException($"{path} is a socket or a device without a driver, not a regular file"),
                    _ => new IOException($"{path}: {Marshal.GetPInvokeErrorMessage(errno)}"),
                };
            }
            var handle = new SafeFileHandle(fd, ownsHandle: true);
            if (TypeOf(fd, handle) is { } type and not RegularFileType)
            {
                handle.Dispose();
                throw new IOException($"{path} is {KindOf(type)}, not a regular file");
            }
            return handle;
        }

        /// <summary>The file type at <paramref name="path"/> (links followed), or null when it cannot be told without opening it.</summary>
        private static int? TypeAt(string path)
        {
            const int CurrentDirectory = -100; // AT_FDCWD
            var statx = new byte[256];
            try
            {
                return Statx(CurrentDirectory, path, 0, TypeMask, statx) == 0 ? BitConverter.ToUInt16(statx, ModeOffset) & FileTypeBits : null;
            }
            catch (EntryPointNotFoundException)
            {
                return null;
            }
        }

        /// <summary>The descriptor's file type; for a C library without <c>statx</c> (glibc before 2.28), 0 when it has no length, as a FIFO or a device has none.</summary>
        private static int? TypeOf(int fd, SafeFileHandle handle)
        {
            var statx = new byte[256];
            try
            {
                if (Statx(fd, "", EmptyPath, TypeMask, statx) == 0)
                {
                    return BitConverter.ToUInt16(statx, ModeOffset) & FileTypeBits;
                }
            }
            catch (EntryPointNotFoundException)
            {
            }
            return RandomAccess.GetLength(handle) > 0 ? null : 0;
        }

        private static string KindOf(int type) => type switch
        {
            0x1000 => "a FIFO (named pipe)",
            0x2000 => "a character device",
            0x4000 => "a directory",
            0x6000 => "a block device",
            0xC000 => "a socket",
            0 => "empty, or not a regular file",
            _ => $"of file type 0x{type:x}",
        };

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
    }
}
