import Foundation

/// Wall time and peak resident memory of one child process.
struct Measurement {
    let seconds: Double
    let peakMegabytes: Double
    let status: Int32
}

func run(_ executable: String, _ arguments: [String], stdin: String? = nil, stdoutTo: String = "/dev/null", stderrTo: String? = nil) throws -> Measurement {
    let pid = try spawn(executable, arguments, stdin: stdin, stdoutTo: stdoutTo, stderrTo: stderrTo)
    let start = DispatchTime.now()
    var status: Int32 = 0
    var usage = rusage()
    _ = wait4(pid, &status, 0, &usage)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    // ru_maxrss is in KiB on Linux.
    return Measurement(seconds: seconds, peakMegabytes: Double(usage.ru_maxrss) / 1024, status: (status >> 8) & 0xFF)
}

/// Starts a child with standard output to /dev/null (or a file), standard error kept or sent to a file.
func spawn(_ executable: String, _ arguments: [String], stdin: String? = nil, stdoutTo: String = "/dev/null", stderrTo: String? = nil) throws -> pid_t {
    // posix_spawn + wait4 rather than Process: Process reaps the child itself, losing its rusage.
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, stdoutTo, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    if let stderrTo { posix_spawn_file_actions_addopen(&actions, 2, stderrTo, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
    if let stdin { posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0) }
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL) }
    return pid
}

func which(_ tool: String) -> String? {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        let path = "\(directory)/\(tool)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}
