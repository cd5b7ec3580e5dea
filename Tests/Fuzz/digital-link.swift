// libFuzzer entry point: the Digital Link parser, plain and compressed. Built by `make fuzz`, not by SwiftPM.
import Foundation
import ShelfTagDomain

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDigitalLink(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    if let link = try? ParsedDigitalLink.parse(uri: text) {
        // A parsed link's key re-parses to itself.
        if let gtin = link.gtin, (try? GTIN(gtin.digits)) != gtin { fatalError("GTIN \(gtin.digits) does not read back") }
    }
    _ = try? ParsedDigitalLink.parse(path: text, query: nil)
    if let elements = try? CompressedDigitalLink.elements(Substring(text)) {
        let uncompressed = CompressedDigitalLink.uncompressedPathAndQuery(elements)
        _ = try? ParsedDigitalLink.parse(path: uncompressed.path, query: uncompressed.query)
    }
    return 0
}
