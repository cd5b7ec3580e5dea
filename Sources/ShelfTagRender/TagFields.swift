import Foundation
import ShelfTagDomain

extension TagContent {
    /// The content of `item`'s tag: its label, Digital Link URI and the fields templates read, formatted for the store.
    ///
    /// Fields: `name`, `brand`, `gtin` (14 digits), `gtinText` (as the barcode prints it), `price`, `unitPrice`,
    /// and on a promotion `onSale`, `regularPrice`, `priorPrice`, `discount` (against the prior price, as the
    /// Omnibus rule requires), `promotionEnd` (its last day); then `store`, `storeCode`, `tagID`, `url`, and the
    /// wording in the store's language (`TagWording`): `priorPriceLabel`, `promotionEndLabel`, `scanLabel`,
    /// `unitPriceLabel`, and any other `tag.*` message; `unitPriceText` says the unit price as the store's language
    /// does (`Prix au kg : 11,65 €`, `1 kg = 11,65 €`); `printedOn`, the day the tag is printed as the store writes
    /// it (formatted once per run), to trace it on the shelf with its `tagID`.
    public init(item: ShelfItem, label: ShelfLabel, baseURL: String, wording: TagWording, printedOn: String) {
        let store = item.listing.store
        let locale = store.locale
        let uri = DigitalLink.shelfTag(base: baseURL, label: label).uri
        // The fixed wording first, the tag's own fields over it: one dictionary, grown once.
        var fields = wording(locale)
        fields.reserveCapacity(fields.count + 16)
        fields["name"] = item.product.title
        fields["brand"] = item.product.brand
        fields["gtin"] = label.gtin.digits
        fields["gtinText"] = label.gtin.symbolDigits
        fields["price"] = label.price.formatted(locale: locale)
        fields["store"] = store.name
        fields["storeCode"] = store.code
        fields["tagID"] = label.tagID
        fields["printedOn"] = printedOn
        fields["url"] = uri
        if let unitPrice = label.unitPrice {
            fields["unitPrice"] = unitPrice.formatted(locale: locale)
            fields["unitPriceText"] = wording.unitPrice(unitPrice, locale: locale)
        }
        if let fee = item.product.ecoParticipation {
            fields["ecoParticipation"] = wording.fill("ecoParticipation", ["amount": fee.formatted(locale: locale)], locale: locale)
        }
        if let regular = label.regularPrice {
            fields["onSale"] = "yes"
            fields["regularPrice"] = regular.formatted(locale: locale)
        }
        if let prior = label.priorPrice {
            fields["priorPrice"] = prior.formatted(locale: locale)
            if let percent = label.discountPercent { fields["discount"] = ShelfLabel.discountText(percent) }
        }
        if let end = label.promotionEnd {
            // The window's end is exclusive: the last day shown is the one before it ends.
            fields["promotionEnd"] = DayText.format(end.addingTimeInterval(-1), locale: locale, timeZone: store.timeZone, style: .short)
        }
        self.init(label: label, uri: uri, fields: fields)
    }
}

/// The fixed words of tags, `tag.<field>` in the message catalog, by language: one template serves every store.
/// A `tag.*` message with placeholders is not a field but a form the code fills: `tag.unitPrice.<base>` (`1kg`,
/// `100ml`, … and `other`) say a unit price per base measure, `tag.ecoParticipation` the recycling fee.
public struct TagWording: Sendable {
    public let catalog: MessageCatalog
    private let fields: [String: [String: String]]
    private let forms: [String: [String: String]]

    public init(catalog: MessageCatalog) {
        self.catalog = catalog
        var fields: [String: [String: String]] = [:]
        var forms: [String: [String: String]] = [:]
        for language in catalog.languages {
            let all = MessageReader(catalog: catalog, language: language).group("tag.")
            fields[language] = all.filter { MessageTemplate.placeholders(in: $0.value).isEmpty }
            forms[language] = all.filter { !MessageTemplate.placeholders(in: $0.value).isEmpty }
        }
        self.fields = fields
        self.forms = forms
    }

    /// The form `tag.<name>` filled with `values`, in the language of `locale`.
    func fill(_ name: String, _ values: [String: String], locale: String) -> String {
        MessageTemplate.fill(forms[catalog.language(of: locale)]?[name] ?? "", values)
    }

    /// The fields for a store in `locale`, in its language or English.
    public func callAsFunction(_ locale: String) -> [String: String] { fields[catalog.language(of: locale)] ?? [:] }

    /// `Prix au kg : 11,65 €`: the base's own wording, else the language's general one with the unit.
    public func unitPrice(_ unitPrice: UnitPrice, locale: String) -> String {
        let texts = forms[catalog.language(of: locale)] ?? [:]
        let price = unitPrice.price.formatted(locale: locale)
        if let own = texts["unitPrice." + unitPrice.base.feedValue] { return MessageTemplate.fill(own, ["price": price]) }
        return MessageTemplate.fill(texts["unitPrice.other"] ?? "{price}/{unit}", ["price": price, "unit": unitPrice.baseLabel])
    }
}
