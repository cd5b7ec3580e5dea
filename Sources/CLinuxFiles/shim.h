// Linux file calls that Swift's Glibc module leaves out: it is built without _GNU_SOURCE, which O_TMPFILE and
// AT_EMPTY_PATH need.
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

/// Opens a new, unnamed regular file in the directory open as `directory` for writing (O_TMPFILE); it is named once
/// complete. Returns -1 with errno set where the kernel or file system cannot make one (EOPNOTSUPP, EISDIR, EINVAL).
static inline int shelftag_open_unnamed_file(int directory, mode_t mode) {
    return openat(directory, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
}

/// Names the file open as `file` `name` in the directory open as `directory` (linkat with AT_EMPTY_PATH). Linux allows
/// it for a file the caller opened since 6.10, and to CAP_DAC_READ_SEARCH before: otherwise -1 with errno ENOENT.
static inline int shelftag_link_open_file(int file, int directory, const char *name) {
    return linkat(file, "", directory, name, AT_EMPTY_PATH);
}

/// Flushes the file system that holds `descriptor` (syncfs), rather than every mounted one as sync does.
static inline int shelftag_sync_file_system(int descriptor) {
    return syncfs(descriptor);
}
