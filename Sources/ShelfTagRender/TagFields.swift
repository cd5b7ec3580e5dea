import Foundation
import ShelfTagDomain

extension TagContent {
    /// The content of `item`'s tag: its label, Digital Link URI and the fields templates read, formatted for the store.
    ///
    /// Fields: `name`, `brand`, `gtin` (14 digits), `gtinText` (as the barcode prints it), `price`, `unitPrice`,
    /// and on a promotion `onSale`, `regularPrice`, `priorPrice`, `discount` (against the prior price, as the
    /// Omnibus rule requires), `promotionEnd` (its last day); then `store`, `storeCode`, `tagID`, `url`, and the
    /// wording in the store's language (`TagWording`): `priorPriceLabel`, `promotionEndLabel`, `scanLabel`,
    /// `unitPriceLabel`, and any other `tag.*` message.
    public init(item: ShelfItem, label: ShelfLabel, baseURL: String, wording: TagWording) {
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
        fields["url"] = uri
        if let unitPrice = label.unitPrice { fields["unitPrice"] = unitPrice.formatted(locale: locale) }
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
public struct TagWording: Sendable {
    public let catalog: MessageCatalog
    private let byLanguage: [String: [String: String]]

    public init(catalog: MessageCatalog) {
        self.catalog = catalog
        var byLanguage: [String: [String: String]] = [:]
        for language in catalog.languages { byLanguage[language] = MessageReader(catalog: catalog, language: language).group("tag.") }
        self.byLanguage = byLanguage
    }

    /// The fields for a store in `locale`, in its language or English.
    public func callAsFunction(_ locale: String) -> [String: String] { byLanguage[catalog.language(of: locale)] ?? [:] }
}
