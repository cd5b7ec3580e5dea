import Foundation
import Logging
import ServiceLifecycle

/// Runs a server `service` until `body` is done, `body` getting the port the server reported on `ports`;
/// then stops it gracefully, as SIGTERM does (stop accepting, finish requests, flush buffers).
public func withRunning(_ service: some Service, ports: AsyncStream<Int>, _ body: (Int) async throws -> Void) async throws {
    var logger = Logger(label: "shelftag.test")
    logger.logLevel = .critical
    let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
    let running = Task { try await group.run() }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else {
        running.cancel()
        throw CocoaError(.fileReadUnknown)
    }
    let outcome: Result<Void, any Error>
    do {
        try await body(port)
        outcome = .success(())
    } catch {
        outcome = .failure(error)
    }
    await group.triggerGracefulShutdown()
    _ = await running.result
    try outcome.get()
}
