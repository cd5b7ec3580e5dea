// libFuzzer entry point: a printer's IPP answer as `shelftag render --printer ipp://` reads it (whatever a device on
// the store's network sends back). Built by `make fuzz` with IPPMessage.swift, not by SwiftPM.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIPPAnswer(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let answer = try? IPP.Response(Array(UnsafeBufferPointer(start: bytes, count: count))) else { return 0 }
    // Every value read as each syntax a caller asks for; a read answer holds no value it did not carry.
    var values = 0
    for (_, attributes) in answer.groups {
        for attribute in attributes {
            for value in attribute.values {
                _ = (value.text, value.integer, value.boolean)
                values += 1
            }
        }
    }
    if values > count { fatalError("\(values) values read from \(count) bytes") }
    _ = answer.attribute("job-id", in: .job)?.values.first?.integer
    _ = answer.succeeded
    return 0
}
