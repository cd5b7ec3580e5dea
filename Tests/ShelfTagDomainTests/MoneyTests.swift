import Foundation
import Testing

@testable import ShelfTagDomain

@Suite("Money, measures and unit prices")
struct MoneyTests {
    @Test func parsesFeedPricesIntoMinorUnits() async throws {
        let price = try Money(feedValue: "15.00 EUR")
        #expect(price.minorUnits == 1500)
        #expect(price.currency.code == "EUR")
        #expect(try Money(feedValue: "3.5 EUR").minorUnits == 350)
        #expect(try Money(feedValue: "1200 JPY").minorUnits == 1200)
        #expect(try Money(feedValue: "1.250 KWD").minorUnits == 1250)
        #expect(price.decimalString == "15.00")
        #expect(price.feedValue == "15.00 EUR")
    }

    @Test func decimalStringsKeepEveryMinorDigit() async throws {
        let euro = try Currency(code: "EUR")
        let cases: [(Int64, Currency, String)] = [
            (5, euro, "0.05"), (0, euro, "0.00"), (50, euro, "0.50"), (100, euro, "1.00"), (-150, euro, "-1.50"), (-5, euro, "-0.05"),
            (1200, try Currency(code: "JPY"), "1200"), (0, try Currency(code: "JPY"), "0"), (1250, try Currency(code: "KWD"), "1.250"),
            (Int64.max, euro, "92233720368547758.07"), (Int64.min, euro, "-92233720368547758.08"),
        ]
        for (minorUnits, currency, text) in cases {
            #expect(Money(minorUnits: minorUnits, currency: currency).decimalString == text)
        }
    }

    @Test func rejectsBadPrices() {
        #expect(throws: MoneyError.unknownCurrency("EUX")) { try Money(feedValue: "3.49 EUX") }
        #expect(throws: MoneyError.negative("-3.49 EUR")) { try Money(feedValue: "-3.49 EUR") }
        #expect(throws: MoneyError.malformed("3,49 EUR")) { try Money(feedValue: "3,49 EUR") }
        #expect(throws: MoneyError.malformed("EUR 3.49")) { try Money(feedValue: "EUR 3.49") }
        #expect(throws: MoneyError.malformed("3.49")) { try Money(feedValue: "3.49") }
        #expect(throws: MoneyError.notPositive("0.00 EUR")) { try Money(feedValue: "0.00 EUR") }
        #expect(throws: MoneyError.tooPrecise("3.499 EUR", currency: "EUR", places: 2)) { try Money(feedValue: "3.499 EUR") }
        #expect(throws: MoneyError.tooPrecise("3.5 JPY", currency: "JPY", places: 0)) { try Money(feedValue: "3.5 JPY") }
        for malformed in ["3.49EUR", "3.49 EUR EUR", "3.49 eur", "3.49 EU", "3.49 EURO", "", " ", "3.49 E\u{301}UR"] {
            #expect(throws: MoneyError.malformed(malformed)) { try Money(feedValue: malformed) }
        }
    }

    @Test("an amount and a code, however many spaces stand around them")
    func spacesAroundTheWords() throws {
        for text in ["3.49 EUR", "  3.49 EUR", "3.49   EUR", "3.49 EUR  ", " 3.49  EUR "] {
            #expect(try Money(feedValue: text) == Money(minorUnits: 349, currency: .euro), "\(text)")
        }
    }

    @Test func formatsPerLocale() async throws {
        // The space before € is a no-break space, so a price never wraps on a tag.
        #expect(try Money(feedValue: "3.49 EUR").formatted(locale: "fr-FR") == "3,49\u{A0}€")
        #expect(try Money(feedValue: "3.49 USD").formatted(locale: "en-US") == "$3.49")
        #expect(try Money(feedValue: "1234.50 EUR").formatted(locale: "de-DE") == "1.234,50\u{A0}€")
    }

    /// Formatting skips ICU where a learned pattern reproduces it (see `MoneyFormatter`): the result must be ICU's own,
    /// for amounts of every length, in the locales and currencies retailers use, grouping rules and digit sets alike.
    @Test(arguments: [
        ("fr-FR", "EUR"), ("en-US", "USD"), ("de-DE", "EUR"), ("es-ES", "EUR"), ("it-IT", "EUR"), ("nl-NL", "EUR"), ("pt-PT", "EUR"),
        ("pl-PL", "PLN"), ("de-CH", "CHF"), ("fr-CH", "CHF"), ("en-GB", "GBP"), ("sv-SE", "SEK"), ("ja-JP", "JPY"), ("en-IN", "INR"),
        ("ar-KW", "KWD"), ("ar-EG", "EGP"), ("fr-BE", "EUR"), ("da-DK", "DKK"), ("cs-CZ", "CZK"), ("hi-IN", "INR"),
    ])
    func formatsAsICUDoes(locale: String, code: String) throws {
        let currency = try Currency(code: code)
        let icu = NumberFormatter()
        icu.locale = Locale(identifier: locale)
        icu.numberStyle = .currency
        icu.currencyCode = code
        icu.minimumFractionDigits = currency.minorUnitDigits
        icu.maximumFractionDigits = currency.minorUnitDigits
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in 0..<400 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // 1 to 15 digits, evenly by length.
            let minorUnits = Int64(state >> 20) % [Int64](repeating: 10, count: 1 + index % 15).reduce(1, *)
            let money = Money(minorUnits: max(1, minorUnits), currency: currency)
            let expected = icu.string(from: money.decimalValue as NSDecimalNumber)
            #expect(money.formatted(locale: locale) == expected, "\(money.minorUnits)")
        }
    }

    @Test func commonLocalesSkipICU() async throws {
        for (locale, code) in [("fr-FR", "EUR"), ("en-US", "USD"), ("de-DE", "EUR"), ("es-ES", "EUR"), ("pl-PL", "PLN"), ("ja-JP", "JPY")] {
            #expect(MoneyFormatter.shared.usesPattern(locale: locale, currency: try Currency(code: code)), "\(locale)")
        }
        // Eastern Arabic digits are not a pattern's: ICU keeps formatting them.
        #expect(!MoneyFormatter.shared.usesPattern(locale: "ar-EG", currency: try Currency(code: "EGP")))
    }

    /// The integer fast path must give exactly what the exact decimal quotient rounded half up gives, for every unit
    /// pair and the measures feeds write (imperial factors overflow 64 bits and fall back to Decimal).
    @Test func integerUnitPricesMatchDecimalArithmetic() async throws {
        let amounts = ["1", "0.5", "0.75", "1.5", "12", "33", "75", "125", "250", "400", "750", "1000", "1.333", "0.001"]
        let prices: [Int64] = [1, 5, 99, 149, 249, 695, 895, 1001, 9999, 123_457]
        var compared = 0
        for measureUnit in MeasureUnit.allCases {
            for baseUnit in MeasureUnit.allCases where baseUnit.dimension == measureUnit.dimension {
                for measureAmount in amounts {
                    let measure = try Measure(feedValue: measureAmount + measureUnit.rawValue)
                    for baseAmount in ["1", "100", "0.5"] {
                        let base = try Measure(feedValue: baseAmount + baseUnit.rawValue)
                        let pricing = try UnitPricing(measure: measure, base: base)
                        for minorUnits in prices {
                            var exact = Decimal(minorUnits) * base.value * baseUnit.referenceFactor / (measure.value * measureUnit.referenceFactor)
                            var rounded = Decimal()
                            NSDecimalRound(&rounded, &exact, 0, .plain)
                            let price = Money(minorUnits: minorUnits, currency: try Currency(code: "EUR"))
                            #expect(
                                pricing.unitPrice(of: price).price.minorUnits == NSDecimalNumber(decimal: rounded).int64Value,
                                "\(minorUnits) for \(measure.feedValue) per \(base.feedValue)")
                            compared += 1
                        }
                    }
                }
            }
        }
        #expect(compared > 10_000)
    }

    @Test func unitPriceRoundsHalfUpToTheCent() async throws {
        let jam = try UnitPricing(measure: Measure(feedValue: "750 g"), base: Measure(feedValue: "1kg"))
        #expect(jam.unitPrice(of: try Money(feedValue: "2.49 EUR")).price == (try Money(feedValue: "3.32 EUR")))
        let cheese = try UnitPricing(measure: Measure(feedValue: "400g"), base: Measure(feedValue: "1kg"))
        #expect(cheese.unitPrice(of: try Money(feedValue: "6.95 EUR")).price.minorUnits == 1738)  // 17.375 → 17.38
        let oil = try UnitPricing(measure: Measure(feedValue: "75cl"), base: Measure(feedValue: "1l"))
        let oilPrice = oil.unitPrice(of: try Money(feedValue: "8.95 EUR"))
        #expect(oilPrice.price.minorUnits == 1193)  // 11.9333…
        #expect(oilPrice.formatted(locale: "fr-FR") == "11,93\u{A0}€/L")
        let per100g = try UnitPricing(measure: Measure(feedValue: "250g"), base: Measure(feedValue: "100g"))
        #expect(per100g.unitPrice(of: try Money(feedValue: "3.49 EUR")).price.minorUnits == 140)  // 1.396
        #expect(per100g.unitPrice(of: try Money(feedValue: "3.49 EUR")).baseLabel == "100 g")
    }

    @Test func measuresParseAndReject() async throws {
        #expect(try Measure(feedValue: "0.75kg").feedValue == "0.75kg")
        #expect(try Measure(feedValue: "1.50 l").feedValue == "1.5l")
        #expect(try Measure(feedValue: "9l").referenceValue == 9000)
        #expect(throws: MeasureError.unknownUnit("750 grams")) { try Measure(feedValue: "750 grams") }
        #expect(throws: MeasureError.notPositive("0g")) { try Measure(feedValue: "0g") }
        #expect(throws: MeasureError.malformed("g")) { try Measure(feedValue: "g") }
        // Units in any case, spaces around them ignored; nothing else around or inside them.
        for (text, canonical) in [("750 G", "750g"), ("1 KG ", "1kg"), ("75Cl", "75cl"), ("2 SqFt", "2sqft"), ("12  ct", "12ct")] {
            #expect(try Measure(feedValue: text).feedValue == canonical)
        }
        for text in ["1 k g", "1 kg.", "1 \u{0}g", "1 g\u{0}", "1 kgkgkgkgkg", "1 ", "1 é"] {
            #expect(throws: MeasureError.unknownUnit(text)) { try Measure(feedValue: text) }
        }
        #expect(throws: MeasureError.mismatchedDimensions(measure: "750g", base: "1l")) {
            try UnitPricing(measure: Measure(feedValue: "750g"), base: Measure(feedValue: "1l"))
        }
    }
}
