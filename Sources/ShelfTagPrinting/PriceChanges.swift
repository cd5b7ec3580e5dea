import Foundation
import ShelfTagDomain
import ShelfTagRender

/// What a run changes on the shelf: each tag whose price differs from the store's last printed tag of the product,
/// or that was never printed, with its aisle and position when the layout says, for whoever swaps the tags. A
/// product's tags at one spot make one row, with their count.
struct PriceChanges {
    struct Row {
        let gtin: GTIN
        let name: String
        let spot: ShelfSpot?
        var tags: Int
        let old: Money?
        let new: Money
    }

    let rows: [Row]

    /// - Parameter rendered: in the run's order, where a product's tags at one spot follow each other.
    init(rendered: [RenderedTag], latest: [GTIN: PrintedTag]) {
        var rows: [Row] = []
        for tag in rendered {
            let label = tag.content.label
            let old = latest[label.gtin]?.label.price
            guard old != label.price else { continue }
            if let last = rows.last, last.gtin == label.gtin, last.spot == tag.spot {
                rows[rows.count - 1].tags += 1
            } else {
                rows.append(Row(gtin: label.gtin, name: tag.content.fields["name"] ?? "", spot: tag.spot, tags: 1, old: old, new: label.price))
            }
        }
        self.rows = rows
    }

    /// The products whose price changed.
    var productCount: Int { Set(rows.map(\.gtin)).count }

    /// `gtin,name,aisle,position,tags,old_price,new_price`, quoted as the manifest is, in the run's order.
    var csv: Data {
        var text = Array("gtin,name,aisle,position,tags,old_price,new_price\n".utf8)
        for row in rows {
            let fields = [
                row.gtin.digits, row.name, row.spot?.aisle ?? "", row.spot?.position.map(String.init) ?? "", String(row.tags),
                row.old?.feedValue ?? "", row.new.feedValue,
            ]
            for (index, value) in fields.enumerated() {
                if index > 0 { text.append(UInt8(ascii: ",")) }
                Manifest.appendCSVField(value, to: &text)
            }
            text.append(UInt8(ascii: "\n"))
        }
        return Data(text)
    }
}
