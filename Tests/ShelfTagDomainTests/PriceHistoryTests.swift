import Foundation
import Testing

@testable import ShelfTagDomain

@Suite("Sale windows and Omnibus prior prices")
struct PriceHistoryTests {
    func time(_ text: String) throws -> Date { try Timestamp.parse(text).date }
    func euros(_ text: String) throws -> Money { try Money(feedValue: text + " EUR") }

    @Test func parsesTimesAndWindows() async throws {
        #expect(try time("2016-02-24T13:00-0800") == (try time("2016-02-24T21:00Z")))
        #expect(try time("2026-11-20T08:00:00+01:00") == (try time("2026-11-20T07:00Z")))
        #expect(Timestamp.format(try time("2026-11-20")) == "2026-11-20T00:00:00Z")
        // With no time, the window runs from 00:00 on the first day to the end of the last day (UTC).
        let window = try SaleWindow(feedValue: "2026-11-20/2026-11-30")
        #expect(window.contains(try time("2026-11-30T23:59:59Z")))
        #expect(!window.contains(try time("2026-12-01T00:00Z")))
        #expect(throws: TimestampError.malformed("2026-13-01T08:00+0100")) { try SaleWindow(feedValue: "2026-13-01T08:00+0100/2026-12-14") }
        #expect(throws: TimestampError.emptyRange("2026-12-14/2026-11-01")) { try SaleWindow(feedValue: "2026-12-14/2026-11-01") }
        #expect(throws: TimestampError.malformed("2026-02-30")) { try Timestamp.parse("2026-02-30") }
    }

    @Test func effectivePriceFollowsTheWindow() async throws {
        let pricing = try Pricing(
            price: euros("3.20"), salePrice: euros("2.56"), saleWindow: SaleWindow(feedValue: "2026-11-20T08:00+0100/2026-11-30T20:00+0100"))
        #expect(pricing.effectivePrice(at: try time("2026-11-20T06:59Z")) == (try euros("3.20")))
        #expect(pricing.effectivePrice(at: try time("2026-11-20T07:00Z")) == (try euros("2.56")))
        #expect(pricing.effectivePrice(at: try time("2026-11-30T19:00Z")) == (try euros("3.20")))
        #expect(throws: PricingError.saleNotLower) { try Pricing(price: euros("3.20"), salePrice: euros("3.20")) }
        // The price changes by itself at the window's edges only.
        #expect(pricing.nextChange(after: try time("2026-11-01T00:00Z")) == (try time("2026-11-20T07:00Z")))
        #expect(pricing.nextChange(after: try time("2026-11-20T07:00Z")) == (try time("2026-11-30T19:00Z")))
        #expect(pricing.nextChange(after: try time("2026-11-30T19:00Z")) == nil)
        #expect(try Pricing(price: euros("3.20"), salePrice: euros("2.56")).nextChange(after: try time("2026-11-01T00:00Z")) == nil)
    }

    @Test("the prior price is the lowest of the 30 days before the reduction, not the last price")
    func omnibusPriorPrice() async throws {
        let start = try time("2026-11-16T07:00Z")
        let history = PriceHistory(changes: [
            PriceChange(recordedAt: try time("2026-09-01T06:00Z"), pricing: try Pricing(price: euros("2.00"))),  // before the 30 days
            PriceChange(recordedAt: try time("2026-10-01T06:00Z"), pricing: try Pricing(price: euros("3.49"))),
            PriceChange(recordedAt: try time("2026-10-25T06:00Z"), pricing: try Pricing(price: euros("3.19"))),
            PriceChange(recordedAt: try time("2026-11-05T06:00Z"), pricing: try Pricing(price: euros("3.59"))),
            PriceChange(
                recordedAt: try time("2026-11-10T06:00Z"),
                pricing: try Pricing(price: euros("3.59"), salePrice: euros("2.69"), saleWindow: SaleWindow(start: start, end: try time("2026-12-14T19:00Z")))),
        ])
        let during = try time("2026-11-23T12:00Z")
        #expect(history.reductionStart(at: during) == start)
        #expect(history.omnibusPriorPrice(at: during) == (try euros("3.19")))
        #expect(history.omnibusPriorPrice(at: try time("2026-11-12T12:00Z")) == nil)  // announced, not yet running
    }

    @Test("an earlier short sale inside the 30 days counts as a price applied")
    func earlierSaleInsideTheLookBack() async throws {
        let history = PriceHistory(changes: [
            PriceChange(
                recordedAt: try time("2026-10-01T00:00Z"),
                pricing: try Pricing(price: euros("5.00"), salePrice: euros("4.10"), saleWindow: SaleWindow(feedValue: "2026-10-20/2026-10-22"))),
            PriceChange(
                recordedAt: try time("2026-11-01T00:00Z"),
                pricing: try Pricing(price: euros("5.00"), salePrice: euros("4.50"), saleWindow: SaleWindow(feedValue: "2026-11-10/2026-11-30"))),
        ])
        #expect(history.omnibusPriorPrice(at: try time("2026-11-15T00:00Z")) == (try euros("4.10")))
    }
}
