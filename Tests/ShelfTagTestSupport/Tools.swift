import Foundation

/// What a command-line tool printed and how it ended.
public struct ToolRun: Sendable {
    public let status: Int32
    public let output: String
    public let errors: String
}

/// Runs a tool that exits by itself (not a daemon: its inherited descriptors would keep the pipes open), waiting on a
/// thread of its own: the tests' cooperative pool has one thread per core, and a test blocking one starves the
/// servers other tests run meanwhile.
public func runTool(_ executable: String, _ arguments: [String]) async throws -> ToolRun {
    try await offThePool { try runToolBlocking(executable, arguments) }
}

/// Runs blocking work on a thread of its own and waits for it without holding a cooperative thread (nor a Dispatch
/// one, which the cooperative pool shares).
public func offThePool<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result(catching: work)) }.start()
    }
}

private func runToolBlocking(_ executable: String, _ arguments: [String]) throws -> ToolRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/\(executable)")
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    // Read both while it runs: a full pipe would stop it.
    let errorData = ErrorCollector(errors.fileHandleForReading)
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ToolRun(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self), errors: errorData.text())
}

private final class ErrorCollector: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        DispatchQueue.global().async {
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }
    }

    func text() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}

/// Why a test helper cannot run.
public enum TestToolError: Error, CustomStringConvertible {
    case missingPython(String)
    case failed(String, ToolRun)

    public var description: String {
        switch self {
        case .missingPython(let path): "no test Python at \(path): `make test` makes it (a virtual environment with zplkit and OpenCV)"
        case .failed(let tool, let run): "\(tool) failed (\(run.status)): \(run.errors)"
        }
    }
}

/// The Python with the test helpers' packages (zplkit, OpenCV): `$SHELFTAG_TEST_PYTHON`, else the virtual
/// environment `make test` makes in `.build/test-python`.
public func testPython() throws -> String {
    let path =
        ProcessInfo.processInfo.environment["SHELFTAG_TEST_PYTHON"]
        ?? repository.appendingPathComponent(".build/test-python/bin/python").path
    guard FileManager.default.isExecutableFile(atPath: path) else { throw TestToolError.missingPython(path) }
    return path
}

/// Runs one of the Python helpers in `Tests/`.
public func runTestScript(_ name: String, _ arguments: [String]) async throws -> ToolRun {
    let run = try await runTool(try testPython(), [repository.appendingPathComponent("Tests/\(name)").path] + arguments)
    guard run.status == 0 else { throw TestToolError.failed(name, run) }
    return run
}
