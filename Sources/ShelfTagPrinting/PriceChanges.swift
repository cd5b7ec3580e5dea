import Foundation
import ShelfTagDomain
import ShelfTagRender

/// What a run changes on the shelf: each tag whose price differs from the store's last printed tag of the product,
/// or that was never printed, with its aisle when the layout says, for whoever swaps the tags.
struct PriceChanges {
    struct Row {
        let gtin: GTIN
        let name: String
        let aisle: String
        let old: Money?
        let new: Money
    }

    let rows: [Row]

    init(rendered: [RenderedTag], latest: [GTIN: PrintedTag], layout: [GTIN: ShelfSpot]) {
        rows = rendered.compactMap { tag in
            let label = tag.content.label
            let old = latest[label.gtin]?.label.price
            guard old != label.price else { return nil }
            return Row(gtin: label.gtin, name: tag.content.fields["name"] ?? "", aisle: layout[label.gtin]?.aisle ?? "", old: old, new: label.price)
        }
    }

    /// `gtin,name,aisle,old_price,new_price`, quoted as the manifest is, in the run's order.
    var csv: Data {
        var text = Array("gtin,name,aisle,old_price,new_price\n".utf8)
        for row in rows {
            for (index, value) in [row.gtin.digits, row.name, row.aisle, row.old?.feedValue ?? "", row.new.feedValue].enumerated() {
                if index > 0 { text.append(UInt8(ascii: ",")) }
                Manifest.appendCSVField(value, to: &text)
            }
            text.append(UInt8(ascii: "\n"))
        }
        return Data(text)
    }
}
