import Foundation

/// A throwaway CUPS print server (Debian's `cupsd`) on a free 127.0.0.1 port, its configuration, queues and spool in
/// a folder of its own; it answers `ipps://` too, with a self-signed certificate it makes at the first. Each queue prints to /dev/null and the spool keeps every job's document and attributes as
/// CUPS received them (`PreserveJobFiles`), for a test to read.
public final class PrintServer: @unchecked Sendable {
    /// A queue and whether it takes jobs; `message` is what it says of itself (`printer-state-message`).
    public struct Queue: Sendable {
        public let name: String
        public let accepting: Bool
        /// A stopped queue takes jobs and keeps them pending.
        public let stopped: Bool
        /// A broken queue's device fails every job ("paper jam"), which the queue then aborts.
        public let broken: Bool
        public let message: String?

        public init(_ name: String, accepting: Bool = true, stopped: Bool = false, broken: Bool = false, message: String? = nil) {
            self.name = name
            self.accepting = accepting
            self.stopped = stopped
            self.broken = broken
            self.message = message
        }
    }

    public let port: Int
    public let folder: URL
    private let lock = NSLock()
    private var pid: pid_t

    static let cupsd = "/usr/sbin/cupsd"

    /// - Parameter maxJobs: how many jobs may be active (pending or printing) at once; 0 for no limit.
    init(queues: [Queue], maxJobs: Int) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.cupsd) else { throw PrintServerError.missing }
        folder = try newDirectory()
        port = try freeLocalPort()
        let root = folder.path
        for sub in ["spool", "cache", "state", "tmp", "ssl", "bin/backend"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(sub)", withIntermediateDirectories: true)
        }
        // CUPS's programs, and beside its backends one more: `jam`, a device that fails whatever it is sent.
        let programs = "/usr/lib/cups"
        for name in try FileManager.default.contentsOfDirectory(atPath: programs) where name != "backend" {
            try FileManager.default.createSymbolicLink(atPath: "\(root)/bin/\(name)", withDestinationPath: "\(programs)/\(name)")
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: "\(programs)/backend") {
            try FileManager.default.createSymbolicLink(atPath: "\(root)/bin/backend/\(name)", withDestinationPath: "\(programs)/backend/\(name)")
        }
        // Run with no argument, a backend lists the devices it finds: none.
        try "#!/bin/sh\n[ $# -eq 0 ] && exit 0\necho 'ERROR: paper jam' >&2\nexit 1\n".write(
            toFile: "\(root)/bin/backend/jam", atomically: true, encoding: .utf8)
        // CUPS runs a backend only if no one but its owner may change it (0700: as root).
        chmod("\(root)/bin/backend/jam", 0o700)
        try """
        Listen 127.0.0.1:\(port)
        ServerName 127.0.0.1
        LogLevel warn
        Browsing No
        WebInterface No
        DefaultAuthType None
        PreserveJobFiles Yes
        DirtyCleanInterval 0
        MaxJobs \(maxJobs)
        <Location />
          Order allow,deny
          Allow all
        </Location>

        """.write(toFile: "\(root)/cupsd.conf", atomically: true, encoding: .utf8)
        try """
        ServerRoot \(root)
        RequestRoot \(root)/spool
        CacheDir \(root)/cache
        StateDir \(root)/state
        TempDir \(root)/tmp
        ServerBin \(root)/bin
        DataDir /usr/share/cups
        DocumentRoot /usr/share/cups/doc-root
        ErrorLog \(root)/error_log
        AccessLog \(root)/access_log
        PageLog \(root)/page_log
        FileDevice Yes
        ServerKeychain \(root)/ssl
        CreateSelfSignedCerts Yes

        """.write(toFile: "\(root)/cups-files.conf", atomically: true, encoding: .utf8)
        try queues.map { queue in
            """
            <Printer \(queue.name)>
            State \(queue.stopped ? "Stopped" : "Idle")
            Accepting \(queue.accepting ? "Yes" : "No")
            \(queue.message.map { "StateMessage \($0)" } ?? "")
            \(queue.broken ? "ErrorPolicy abort-job\nDeviceURI jam://here" : "DeviceURI file:///dev/null")
            </Printer>

            """
        }.joined().write(toFile: "\(root)/printers.conf", atomically: true, encoding: .utf8)
        // posix_spawn with every descriptor above 2 closed: Foundation's `Process` would hand the daemon the pipes of
        // tools other tests run meanwhile, and their readers would wait for it to exit.
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        guard let closeFrom = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { throw PrintServerError.missing }
        // glibc 2.34's, which Swift's Glibc module leaves out.
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        _ = unsafeBitCast(closeFrom, to: AddCloseFrom.self)(&actions, 3)
        let arguments = [Self.cupsd, "-f", "-c", "\(root)/cupsd.conf", "-s", "\(root)/cups-files.conf"]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        // Signals unblocked and at their defaults: the test process blocks some for its own handling, and a child
        // inherits the mask (a SIGTERM would wait forever).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid = pid_t()
        let spawned = posix_spawn(&pid, Self.cupsd, &actions, &attributes, argv, environ)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL) }
        self.pid = pid
    }

    /// The URI of one of its queues.
    public func uri(_ queue: String) -> String { "ipp://127.0.0.1:\(port)/printers/\(queue)" }

    /// Waits until it answers on its port.
    func waitUntilListening() async throws {
        for _ in 0..<100 {
            if try await offThePool({ [port] in canConnect(port: port) }) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw PrintServerError.notListening(log: (try? String(contentsOfFile: folder.path + "/error_log", encoding: .utf8)) ?? "")
    }

    /// The documents of the jobs it took, in job order.
    public func documents() throws -> [Data] {
        let spool = folder.appendingPathComponent("spool")
        return try FileManager.default.contentsOfDirectory(atPath: spool.path).filter { $0.hasPrefix("d") }.sorted().map {
            try Data(contentsOf: spool.appendingPathComponent($0))
        }
    }

    /// Job `id`'s attributes as CUPS stored them (its control file, IPP-encoded), once it has written them.
    public func jobAttributes(_ id: Int) async throws -> Data {
        let path = folder.appendingPathComponent(String(format: "spool/c%05d", id)).path
        for _ in 0..<100 {
            if let data = FileManager.default.contents(atPath: path), !data.isEmpty { return data }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw PrintServerError.noJob(id)
    }

    func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        pid = 0
    }

    deinit { stop() }
}

public enum PrintServerError: Error, CustomStringConvertible {
    case missing
    case notListening(log: String)
    case noJob(Int)

    public var description: String {
        switch self {
        case .missing: "no \(PrintServer.cupsd): `make test` installs Debian's cups-daemon"
        case .notListening(let log): "cupsd did not start listening: \(log)"
        case .noJob(let id): "CUPS wrote no control file for job \(id)"
        }
    }
}

/// Runs `body` with a CUPS server holding `queues`, stopped afterwards whatever the outcome.
public func withPrintServer(_ queues: [PrintServer.Queue], maxJobs: Int = 0, _ body: (PrintServer) async throws -> Void) async throws {
    let server = try PrintServer(queues: queues, maxJobs: maxJobs)
    defer { server.stop() }
    try await server.waitUntilListening()
    try await body(server)
}

private func canConnect(port: Int) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}
