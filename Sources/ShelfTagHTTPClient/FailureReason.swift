import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Why a request through AsyncHTTPClient failed, in words (`connection refused`), where its errors would name their
/// types: parity's live checks and office printers say it the same way.
public enum FailureReason {
    /// `error`'s cause; the timeouts are the client's, in seconds, for the messages that name them.
    public static func describe(_ error: any Error, connectTimeout: Int, readTimeout: Int) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? NIOConnectionError {
            if let unknown = (error.dnsAError ?? error.dnsAAAAError) as? SocketAddressError.UnknownHost {
                return "no address for \(unknown.host) (\(unknown.errorDescription.lowercased()))"
            }
            if let first = error.connectionErrors.first?.error { return describe(first, connectTimeout: connectTimeout, readTimeout: readTimeout) }
        }
        if let error = error as? NIOSSLError, case .handshakeFailed(let cause) = error {
            return "\(cause)".contains("CERTIFICATE_VERIFY_FAILED")
                ? "its TLS certificate is not trusted here (self-signed, or signed by an authority this machine does not trust)"
                : "the TLS handshake failed (\(cause))"
        }
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname { return "its TLS certificate names another host" }
        guard let error = error as? HTTPClientError else { return "\(error)" }
        switch error {
        case .connectTimeout: return "no connection within \(connectTimeout) s"
        case .readTimeout, .deadlineExceeded: return "no answer within \(readTimeout) s"
        case .remoteConnectionClosed: return "the server closed the connection before it answered"
        case .redirectLimitReached, .redirectCycleDetected: return "redirected more than 5 times, or in a loop"
        case .invalidURL, .emptyHost, .emptyScheme: return "not an http(s) URL"
        default: return "\(error)"
        }
    }

    /// Whether `error` is a connection closed before any answer came on it: a kept-alive connection the server closed
    /// as the request went out (its idle timeout).
    public static func isClosedBeforeAnswer(_ error: any Error) -> Bool {
        if let error = error as? ChannelError, error == .ioOnClosedChannel || error == .eof { return true }
        if let error = error as? HTTPClientError, error == .remoteConnectionClosed { return true }
        return false
    }
}
