// Linux file calls that Swift's Glibc module leaves out: it is built without _GNU_SOURCE, which O_TMPFILE needs.
#define _GNU_SOURCE
#include <fcntl.h>

/// Opens a new, unnamed regular file in `directory` for writing (O_TMPFILE); linkat names it once it is complete.
/// Returns -1 with errno set where the kernel or file system cannot make one (EOPNOTSUPP, EISDIR, EINVAL).
static inline int shelftag_open_unnamed_file(const char *directory, mode_t mode) {
    return open(directory, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
}

#include <unistd.h>

/// Flushes the file system that holds `descriptor` (syncfs), rather than every mounted one as sync does.
static inline int shelftag_sync_file_system(int descriptor) {
    return syncfs(descriptor);
}
