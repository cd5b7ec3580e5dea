import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@testable import ShelfTagServer

/// The request readers a cached page uses instead of Hummingbird's: they must read what Hummingbird's would.
@Suite("Reading a request's query and headers")
struct RequestReadingTests {
    private func request(_ path: String, fields: HTTPFields = [:]) -> Request {
        Request(
            head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: path, headerFields: fields), body: RequestBody(buffer: ByteBuffer()))
    }

    @Test(
        "RawQuery gives each key's first value, decoded as uri.queryParameters decodes it",
        arguments: [
            "/products/03760001000634", "/products/03760001000634?", "/p?s=PAR01", "/p?s=PAR01&t=vwknn2qt&a=ab12",
            "/p?t=x&s=LYO02&s=PAR01", "/p?s=&t", "/p?s=PAR%2001&t=%C3%A9t%C3%A9", "/p?s=100%25&t=%zz", "/p?ss=1&s=2&=3",
            "/p?a=1=2&&s=x", "/p?S=upper&s=lower",
        ])
    func rawQueryAgreesWithHummingbird(path: String) {
        let request = request(path)
        let query = RawQuery(request)
        for key in ["s", "t", "a", "ss", "S", "absent"] {
            #expect(query[key] == request.uri.queryParameters[key[...]].map(String.init), "\(path) \(key)")
        }
    }

    @Test("HTTPFields.value(of:) equals the joining subscript for none, one and several fields of a name")
    func fieldValueAgreesWithSubscript() {
        let cases: [HTTPFields] = [
            [:], [.accept: "text/html"], [.acceptLanguage: "fr"],
            HTTPFields([
                HTTPField(name: .accept, value: "text/html"), HTTPField(name: .acceptLanguage, value: "de"),
                HTTPField(name: .accept, value: "application/json;q=0.5"),
            ]),
            HTTPFields([HTTPField(name: .cookie, value: "a=1"), HTTPField(name: .cookie, value: "shelftag_advisor=LEA23")]),
        ]
        for fields in cases {
            for name in [HTTPField.Name.accept, .acceptLanguage, .cookie] {
                #expect(request("/", fields: fields).headers.value(of: name) == fields[name], "\(fields) \(name)")
            }
        }
    }
}
