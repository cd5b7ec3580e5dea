import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ShelfTagStorage

extension HTTPField.Name {
    static let link = HTTPField.Name("Link")!
    static let vary = HTTPField.Name("Vary")!
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let accessControlAllowOrigin = HTTPField.Name("Access-Control-Allow-Origin")!
    static let accessControlAllowMethods = HTTPField.Name("Access-Control-Allow-Methods")!
    static let accessControlAllowHeaders = HTTPField.Name("Access-Control-Allow-Headers")!
    static let accessControlExposeHeaders = HTTPField.Name("Access-Control-Expose-Headers")!
    static let accessControlRequestHeaders = HTTPField.Name("Access-Control-Request-Headers")!
    static let accessControlMaxAge = HTTPField.Name("Access-Control-Max-Age")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
}

/// One access-log line and the metrics of every request; the outermost middleware, so it sees error answers too.
struct ObservabilityMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: Metrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let route = context.endpointPath ?? "unmatched"
        metrics.request(route: route, method: request.method.rawValue, status: response.status.code, seconds: seconds)
        // No client address: the log holds what the scans table holds, no more.
        context.logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue), "path": .string(request.uri.path), "route": .string(route),
                "status": .stringConvertible(response.status.code), "ms": .string(Self.milliseconds(seconds)),
            ])
        return response
    }

    /// `0.42`: milliseconds with two decimals, without String(format:), which costs more than the rest of the line.
    static func milliseconds(_ seconds: Double) -> String {
        let hundredths = Int((seconds * 100_000).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }
}

/// No scripts, no frames, no plugins; images from the catalogue's https hosts; inline style only.
let contentSecurityPolicy =
    "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

private let securityHeaders: [HTTPField] = [
    HTTPField(name: .contentSecurityPolicy, value: contentSecurityPolicy), HTTPField(name: .xContentTypeOptions, value: "nosniff"),
    HTTPField(name: .referrerPolicy, value: "no-referrer"), HTTPField(name: .accessControlAllowOrigin, value: "*"),
    HTTPField(name: .accessControlExposeHeaders, value: "Link, Location, ETag"),
]

/// What caches between the resolver and its clients (a chain's CDN, a browser) may keep (RFC 9111). An answer
/// that names none gets `none`: only what a handler marks as shareable is ever stored.
enum CachePolicy {
    /// Product answers: live prices, so every cache asks again before reuse (a 304 while the entity tag matches).
    static let revalidate = "no-cache"
    /// Store pages: the same, but a page names the associate a shopper's cookie remembers, so only the browser keeps it.
    static let revalidatePrivately = "private, no-cache"
    /// Documents that change only when the server restarts (its description, its OpenAPI document).
    static let published = "public, max-age=300"
    /// Everything else: personal data (reservations, associates' views, cookies set), writes, errors, health.
    static let none = "no-store"
}

/// Security and CORS headers on every answer, and `Cache-Control: no-store` on those that name no cache policy.
struct HeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if response.headers[.cacheControl] == nil { response.headers.append(HTTPField(name: .cacheControl, value: CachePolicy.none)) }
        // Appended, not set one by one: no handler sets them, and each setting searches the fields.
        response.headers.append(contentsOf: securityHeaders)
        return response
    }
}

/// Turns every thrown error into an answer in the client's format (HTML page or RFC 9457 JSON), never a stack trace.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let pages: Pages
    let methods: AllowedMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ResolverError {
            return ErrorMiddleware.response(error, request: request, pages: pages)
        } catch let redirect as Redirect {
            return Response(status: .seeOther, headers: [.location: redirect.location])
        } catch StorageError.busy {
            var answer = ResolverError(
                status: 503, title: "Service unavailable", detail: "The product reference is busy with another write; nothing was changed. Retry shortly.")
            answer.retryAfter = 2
            return ErrorMiddleware.response(answer, request: request, pages: pages)
        } catch StorageError.unavailable(let reason) {
            context.logger.warning("database unavailable: \(reason)")
            var answer = ResolverError(
                status: 503, title: "Service unavailable", detail: "The product reference cannot be reached right now; nothing was changed. Retry shortly.")
            answer.retryAfter = 5
            return ErrorMiddleware.response(answer, request: request, pages: pages)
        } catch let error as HTTPResponseError {
            let status = error.status
            // No route for this method on a path that has others.
            if status == .notFound, let allow = methods.allow(for: request.uri.path) {
                var answer = ResolverError(status: 405, title: "Method Not Allowed", detail: "\(request.method.rawValue) is not allowed here.")
                answer.allow = allow
                return ErrorMiddleware.response(answer, request: request, pages: pages)
            }
            let detail: String
            switch status.code {
            case 404: detail = "Nothing is published at \(request.uri.path)."
            case 405: detail = "\(request.method.rawValue) is not allowed here."
            case 413: detail = "The request body is larger than this server accepts."
            default: detail = status.reasonPhrase
            }
            return ErrorMiddleware.response(ResolverError(status: status.code, title: status.reasonPhrase, detail: detail), request: request, pages: pages)
        } catch {
            context.logger.error("unexpected error: \(error)")
            return ErrorMiddleware.response(
                ResolverError(status: 500, title: "Internal error", detail: "Something went wrong on our side; it has been logged."), request: request,
                pages: pages)
        }
    }

    private static func headers(_ error: ResolverError) -> HTTPFields {
        var headers = HTTPFields()
        if let wait = error.retryAfter { headers[.retryAfter] = String(wait) }
        if let allow = error.allow { headers[.allow] = allow }
        if error.status == 401 { headers[.wwwAuthenticate] = "Bearer realm=\"shelftag\"" }
        return headers
    }

    static func response(_ error: ResolverError, request: Request, pages: Pages) -> Response {
        // A client that sent JSON gets JSON unless it asks for HTML.
        let sentJSON = request.headers[.contentType]?.hasPrefix("application/json") ?? false
        let format = ResponseFormat.preferred(by: request, offered: sentJSON ? [.json, .html] : [.html, .json])
        let status = HTTPResponse.Status(code: error.status)
        switch format {
        case .html:
            return Response.text(
                pages.error(error, language: pages.wording.preferred(by: request)), status: status, contentType: "text/html; charset=utf-8",
                headers: headers(error))
        default:
            var problem: [String: Any] = ["type": "about:blank", "title": error.title, "status": error.status, "detail": error.detail]
            if let link = error.link { problem["link"] = link }
            if let field = error.field { problem["field"] = field }
            let data = (try? JSONSerialization.data(withJSONObject: problem, options: [.sortedKeys])) ?? Data()
            return Response.text(String(decoding: data, as: UTF8.self), status: status, contentType: "application/problem+json", headers: headers(error))
        }
    }
}

extension Response {
    static func text(_ body: String, status: HTTPResponse.Status = .ok, contentType: String, headers extra: HTTPFields = [:]) -> Response {
        text(ByteBuffer(string: body), status: status, contentType: contentType, headers: extra)
    }

    static func text(_ body: ByteBuffer, status: HTTPResponse.Status = .ok, contentType: String, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
    }

    static func json<Value: Encodable>(_ value: Value, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        text(jsonText(value), status: status, contentType: "application/json", headers: headers)
    }

    /// A JSON object built of dictionaries and arrays.
    static func json(object: [String: Any], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return text(String(decoding: data, as: UTF8.self), status: status, contentType: "application/json", headers: headers)
    }

    /// Sorted keys, so the same data is the same bytes.
    static func jsonText<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func redirect(to location: String, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.location] = location
        return Response(status: .temporaryRedirect, headers: headers)
    }
}
