import Foundation
import ShelfTagDomain

extension TagContent {
    /// The content of `item`'s tag: its label, Digital Link URI and the fields templates read, formatted for the store.
    ///
    /// Fields: `name`, `brand`, `gtin` (14 digits), `gtinText` (as the barcode prints it), `price`, `unitPrice`,
    /// and on a promotion `onSale`, `regularPrice`, `priorPrice`, `discount` (against the prior price, as the
    /// Omnibus rule requires), `promotionEnd` (its last day); then `store`, `storeCode`, `tagID`, `url`, and the
    /// wording in the store's language: `priorPriceLabel`, `promotionEndLabel`, `scanLabel`, `unitPriceLabel`.
    public init(item: ShelfItem, label: ShelfLabel, baseURL: String) {
        let store = item.listing.store
        let locale = store.locale
        let uri = DigitalLink.shelfTag(base: baseURL, label: label).uri
        // The fixed wording first, the tag's own fields over it: one dictionary, grown once.
        var fields = Self.words(locale: locale)
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

    /// The fixed wording of tags, by the store locale's language (English otherwise), so one template serves every store.
    static func words(locale: String) -> [String: String] {
        switch locale.prefix(2) {
        case "fr":
            [
                "priorPriceLabel": "Prix antérieur", "promotionEndLabel": "Offre valable jusqu'au", "scanLabel": "Prix, stock et avis",
                "unitPriceLabel": "Prix unitaire",
            ]
        case "de":
            [
                "priorPriceLabel": "Vorher", "promotionEndLabel": "Angebot gültig bis", "scanLabel": "Preis, Bestand, Bewertungen",
                "unitPriceLabel": "Grundpreis",
            ]
        default:
            ["priorPriceLabel": "Was", "promotionEndLabel": "Offer ends", "scanLabel": "Price, stock, reviews", "unitPriceLabel": "Unit price"]
        }
    }
}
