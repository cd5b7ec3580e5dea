// libFuzzer entry point: JSON request bodies as the resolver reads them (a reservation, a store update) down to the
// domain values they become. Built by `make fuzz`, not by SwiftPM.
import Foundation
import ShelfTagDomain

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBodies(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let body = try? JSONSerialization.jsonObject(with: Data(bytes: bytes, count: count), options: [.fragmentsAllowed]) else { return 0 }
    let items = (body as? [[String: Any]]) ?? (body as? [String: Any]).map { [$0] } ?? []
    for item in items {
        func text(_ key: String) -> String? { (item[key] as? String) ?? (item[key] as? NSNumber)?.stringValue }
        // A reservation.
        if let gtin = text("gtin").flatMap({ try? GTIN($0) }) {
            _ = try? HoldRequest(storeCode: text("store"), gtin: gtin, quantity: text("quantity"), customerName: text("name"), contact: text("contact"))
        }
        // A store's price update.
        if let price = text("price").flatMap({ try? Money(feedValue: $0) }) {
            let sale = text("salePrice").flatMap { try? Money(feedValue: $0) }
            let window = text("saleEffectiveDate").flatMap { try? SaleWindow(feedValue: $0) }
            _ = try? Pricing(price: price, salePrice: sale, saleWindow: window)
        }
    }
    return 0
}
