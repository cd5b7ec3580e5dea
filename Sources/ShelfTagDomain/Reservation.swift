import Foundation

/// A hold on store stock for a shopper, collected or cancelled by staff, or lapsed at `expiresAt`.
public struct Reservation: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case held, collected, cancelled, expired
    }

    /// The short pickup code the shopper shows (also as a QR code).
    public let code: String
    public let storeCode: String
    public let gtin: GTIN
    public let quantity: Int
    public let customerName: String
    public let contact: String
    /// The shelf price when the hold was made; the total is this times the quantity.
    public let unitPrice: Money
    public let status: Status
    public let createdAt: Date
    public let expiresAt: Date
    /// The associate credited: the one whose link or remembered code the page carried.
    public let associateCode: String?
    /// When staff prepared it and set it aside (still held: "ready for pickup").
    public let readyAt: Date?
    /// The associate who prepared it (nil: marked ready through a store token, or before this was recorded).
    public let preparedBy: String?
    /// When staff last told the shopper it was ready (a message sent from the tablet; again for a reminder).
    public let toldAt: Date?
    /// The associate who last told the shopper (nil: through a store token, or before this was recorded).
    public let toldBy: String?
    /// The associate who handed it over or cancelled it.
    public let closedBy: String?

    public init(
        code: String, storeCode: String, gtin: GTIN, quantity: Int, customerName: String, contact: String, unitPrice: Money, status: Status,
        createdAt: Date, expiresAt: Date, associateCode: String? = nil, readyAt: Date? = nil, preparedBy: String? = nil, toldAt: Date? = nil,
        toldBy: String? = nil, closedBy: String? = nil
    ) {
        self.associateCode = associateCode
        self.readyAt = readyAt
        self.preparedBy = preparedBy
        self.toldAt = toldAt
        self.toldBy = toldBy
        self.closedBy = closedBy
        self.code = code
        self.storeCode = storeCode
        self.gtin = gtin
        self.quantity = quantity
        self.customerName = customerName
        self.contact = contact
        self.unitPrice = unitPrice
        self.status = status
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    public var total: Money { Money(minorUnits: unitPrice.minorUnits * Int64(quantity), currency: unitPrice.currency) }

    /// A link that opens the staff device's messages with `body` for the shopper: `mailto:` with `subject` for an
    /// e-mail address (RFC 6068), `sms:` for a phone number (RFC 5724; its digits and a leading `+` only).
    public func messageLink(subject: String, body: String) -> String {
        // RFC 3986's unreserved characters stay; every other byte is percent-encoded.
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        let encode = { (text: String) in text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "" }
        if HoldRequest.isEmail(contact) {
            return "mailto:\(encode(contact).replacingOccurrences(of: "%40", with: "@"))?subject=\(encode(subject))&body=\(encode(body))"
        }
        let number = (contact.hasPrefix("+") ? "+" : "") + contact.filter { $0.isASCII && $0.isNumber }
        return "sms:\(number)?body=\(encode(body))"
    }

    /// Whether it still holds stock at `time`: held and not lapsed. Expiry needs no job: lapsed holds simply stop counting.
    public func isActive(at time: Date) -> Bool { status == .held && time < expiresAt }

    /// What staff and the shopper see: held (to prepare), ready (set aside for pickup), collected, cancelled or expired.
    public func state(at time: Date) -> String {
        guard status == .held else { return status.rawValue }
        if time >= expiresAt { return "expired" }
        return readyAt == nil ? "held" : "ready"
    }

    /// Six characters from Crockford's upper-case alphabet (no I, L, O, U): easy to read out at a counter.
    public static func newCode() -> String {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        var generator = SystemRandomNumberGenerator()
        return String((0..<6).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }
}

/// What staff do to an open reservation: mark it prepared and set aside, record that the shopper was told it is ready,
/// hand it over, or cancel it. The raw values name the actions in URLs (`/work/queue/CODE/ready`).
public enum ReservationAction: String, Sendable, CaseIterable {
    case ready, told, collect, cancel
}

/// A shopper's request to hold stock, checked field by field.
public struct HoldRequest: Sendable, Equatable {
    public let storeCode: String
    public let gtin: GTIN
    public let quantity: Int
    public let customerName: String
    public let contact: String
    /// The associate to credit, checked by the server against the reference (never taken from a form field).
    public var associateCode: String?

    /// - Throws: `HoldRequestError` naming the first bad field.
    public init(storeCode: String?, gtin: GTIN, quantity: String?, customerName: String?, contact: String?) throws(HoldRequestError) {
        guard let storeCode, !storeCode.isEmpty else { throw .field("store", "is missing") }
        do { try TextRule.identifier.check(storeCode) } catch { throw .field("store", error.description) }
        guard let quantityText = quantity?.trimmingCharacters(in: .whitespaces), !quantityText.isEmpty else { throw .field("quantity", "is missing") }
        guard let quantity = Int(quantityText), quantity >= 1 else { throw .field("quantity", "must be a whole number from 1") }
        let name = (customerName ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw .field("name", "is missing") }
        // A line break or an override would forge lines and reorder text where staff read the name.
        do { try TextRule.line(100).check(name) } catch { throw .field("name", error.description) }
        let contact = (contact ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !contact.isEmpty else { throw .field("contact", "is missing: give a phone number or an e-mail address") }
        do { try TextRule.line(254).check(contact) } catch { throw .field("contact", error.description) }
        guard Self.isEmail(contact) || Self.isPhone(contact) else {
            throw .field("contact", "'\(contact)' is neither an e-mail address (name@example.com) nor a phone number (+33 6 12 34 56 78)")
        }
        self.storeCode = storeCode
        self.gtin = gtin
        self.quantity = quantity
        self.customerName = name
        self.contact = contact
    }

    /// The request's fields as one text: the hash of it is the request's fingerprint for its Idempotency-Key (the
    /// same key with another fingerprint is another request).
    public var requestText: String {
        [gtin.digits, storeCode, String(quantity), customerName, contact].joined(separator: "\u{1F}")
    }

    static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64, text.count <= 254 else { return false }
        let domain = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return domain.count >= 2 && domain.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" } }
            && !text.contains(where: { $0.isWhitespace })
    }

    /// Checks a phone number against the numbering plan of the store's country, where one is known (France: ten digits
    /// from 0, or +33 and nine): an eight-digit number passes the general rule but reaches nobody.
    /// - Throws: `HoldRequestError.field("contact", …)`.
    public func checkPhone(storeLocale locale: String) throws(HoldRequestError) {
        guard !Self.isEmail(contact), DisplayedPriceRule.region(ofLocale: locale) == "FR" else { return }
        var digits = contact.filter { $0.isASCII && $0.isNumber }
        if contact.hasPrefix("+33") || digits.hasPrefix("0033") {
            digits = String(digits.dropFirst(contact.hasPrefix("+") ? 2 : 4))
            // "+33 (0)6 …" keeps the trunk 0 in brackets.
            if digits.count == 10 && digits.first == "0" && contact.contains("(0)") { digits.removeFirst() }
            if digits.count == 9 && digits.first != "0" { return }
        } else if !contact.hasPrefix("+") {
            if digits.count == 10 && digits.first == "0" { return }
        } else {
            // Another country's number, written in full.
            return
        }
        throw .field("contact", "'\(contact)' is not a French phone number: ten digits such as 06 12 34 56 78, or +33 6 12 34 56 78")
    }

    static func isPhone(_ text: String) -> Bool {
        let allowed = text.allSatisfy { $0.isASCII && ($0.isNumber || " +-.()".contains($0)) }
        let digits = text.filter { $0.isASCII && $0.isNumber }.count
        return allowed && (6...15).contains(digits) && (!text.dropFirst().contains("+"))
    }
}

/// Why a hold request is refused before any stock is looked at.
public enum HoldRequestError: Error, Equatable, CustomStringConvertible {
    case field(String, String)

    public var field: String {
        switch self {
        case .field(let name, _): name
        }
    }

    public var description: String {
        switch self {
        case .field(let name, let reason): "\(name): \(reason)"
        }
    }
}

/// What a hold attempt came to.
public enum HoldOutcome: Sendable, Equatable {
    case held(Reservation)
    /// Not enough available: on hand minus active holds.
    case insufficient(available: Int)
    /// Over the store's maximum per reservation.
    case overLimit(maximum: Int)
    /// The store does not list the product.
    case notListed
}
