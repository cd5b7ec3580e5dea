import Foundation

/// The Internet Printing Protocol's binary messages (RFC 8010): what a printer or a print server (CUPS) is
/// sent, and what ShelfTag reads of its answers. Only the operations and value types a print run needs.
enum IPP {
    /// IPP/1.1: every IPP printer and CUPS take it (IPP/2.0 adds nothing a print run uses).
    static let version: (major: UInt8, minor: UInt8) = (1, 1)

    enum Operation: UInt16 {
        case printJob = 0x0002
        case getJobAttributes = 0x0009
        case getPrinterAttributes = 0x000B
    }

    /// The delimiters that open an attribute group, and the one that ends them.
    enum GroupTag: UInt8 {
        case operation = 0x01
        case job = 0x02
        case end = 0x03
        case printer = 0x04
        case unsupported = 0x05
    }

    /// The value syntaxes ShelfTag writes or reads.
    enum ValueTag: UInt8 {
        case integer = 0x21
        case boolean = 0x22
        case enumeration = 0x23
        case textWithoutLanguage = 0x41
        case nameWithoutLanguage = 0x42
        case keyword = 0x44
        case uri = 0x45
        case charset = 0x47
        case naturalLanguage = 0x48
        case mimeMediaType = 0x49
    }

    /// One value as it travels: its syntax's tag and its bytes.
    struct Value: Equatable {
        let tag: UInt8
        let bytes: [UInt8]

        static func text(_ tag: ValueTag, _ text: String) -> Value { Value(tag: tag.rawValue, bytes: Array(text.utf8)) }

        static func integer(_ number: Int32) -> Value { Value(tag: ValueTag.integer.rawValue, bytes: withUnsafeBytes(of: number.bigEndian, Array.init)) }

        /// The value as text, for the string syntaxes (0x40–0x5F: text, name, keyword, uri, charset, MIME type…).
        var text: String? { (0x40...0x5F).contains(tag) ? String(decoding: bytes, as: UTF8.self) : nil }

        /// The value as a number, for integer and enum.
        var integer: Int32? {
            guard tag == ValueTag.integer.rawValue || tag == ValueTag.enumeration.rawValue, bytes.count == 4 else { return nil }
            return bytes.reduce(0) { $0 << 8 | Int32($1) }
        }

        var boolean: Bool? { tag == ValueTag.boolean.rawValue && bytes.count == 1 ? bytes[0] != 0 : nil }
    }

    struct Attribute: Equatable {
        let name: String
        var values: [Value]

        init(_ name: String, _ values: Value...) {
            self.name = name
            self.values = values
        }

        init(_ name: String, values: [Value]) {
            self.name = name
            self.values = values
        }
    }

    /// A request: the operation, its attributes, then the document (for Print-Job).
    struct Request {
        let operation: Operation
        let requestID: Int32
        /// After `attributes-charset` and `attributes-natural-language`, which every request opens with.
        var operationAttributes: [Attribute]
        var jobAttributes: [Attribute] = []

        /// The message up to its document.
        func encoded() -> [UInt8] {
            var bytes: [UInt8] = [IPP.version.major, IPP.version.minor]
            bytes += withUnsafeBytes(of: operation.rawValue.bigEndian, Array.init)
            bytes += withUnsafeBytes(of: requestID.bigEndian, Array.init)
            let opening = [Attribute("attributes-charset", .text(.charset, "utf-8")), Attribute("attributes-natural-language", .text(.naturalLanguage, "en"))]
            Self.append(.operation, opening + operationAttributes, to: &bytes)
            if !jobAttributes.isEmpty { Self.append(.job, jobAttributes, to: &bytes) }
            bytes.append(GroupTag.end.rawValue)
            return bytes
        }

        private static func append(_ group: GroupTag, _ attributes: [Attribute], to bytes: inout [UInt8]) {
            bytes.append(group.rawValue)
            for attribute in attributes {
                // The first value carries the name; each further one an empty name (RFC 8010, 3.1.5).
                for (index, value) in attribute.values.enumerated() {
                    bytes.append(value.tag)
                    let name = index == 0 ? Array(attribute.name.utf8) : []
                    bytes += withUnsafeBytes(of: UInt16(name.count).bigEndian, Array.init) + name
                    bytes += withUnsafeBytes(of: UInt16(value.bytes.count).bigEndian, Array.init) + value.bytes
                }
            }
        }
    }

    /// A printer's answer, attributes by group.
    struct Response {
        let status: UInt16
        let requestID: Int32
        let groups: [(tag: UInt8, attributes: [Attribute])]

        /// Whether the operation was done (0x0000–0x00FF: `successful-ok` and its variants, such as attributes the
        /// printer ignored or replaced).
        var succeeded: Bool { status < 0x0100 }

        /// The first attribute of that name in a group of that tag (any group when nil).
        func attribute(_ name: String, in group: GroupTag? = nil) -> Attribute? {
            for (tag, attributes) in groups where group == nil || tag == group?.rawValue {
                if let found = attributes.first(where: { $0.name == name }) { return found }
            }
            return nil
        }

        /// Reads a whole answer.
        /// - Throws: `IPP.MalformedMessage` when it is cut short or its lengths do not add up.
        init(_ bytes: [UInt8]) throws(MalformedMessage) {
            var reader = Reader(bytes: bytes)
            _ = try reader.take(2)
            status = try reader.uint16()
            requestID = Int32(bitPattern: try reader.take(4).reduce(0) { $0 << 8 | UInt32($1) })
            var groups: [(tag: UInt8, attributes: [Attribute])] = []
            var tag = try reader.byte()
            while tag != GroupTag.end.rawValue {
                guard tag <= 0x0F else { throw MalformedMessage(reason: "a value before any attribute group") }
                let group = tag
                var attributes: [Attribute] = []
                tag = try reader.byte()
                // Tags 0x00–0x0F delimit groups; the others open a value.
                while tag > 0x0F {
                    let name = String(decoding: try reader.take(Int(try reader.uint16())), as: UTF8.self)
                    let value = Value(tag: tag, bytes: try reader.take(Int(try reader.uint16())))
                    if name.isEmpty {
                        // A further value of the attribute before it (or a collection's member: kept as values).
                        guard !attributes.isEmpty else { throw MalformedMessage(reason: "a value without an attribute name") }
                        attributes[attributes.count - 1].values.append(value)
                    } else {
                        attributes.append(Attribute(name, value))
                    }
                    tag = try reader.byte()
                }
                groups.append((group, attributes))
            }
            self.groups = groups
        }
    }

    struct MalformedMessage: Error, Equatable {
        let reason: String
    }

    /// Reads a message front to back, every read bounded by what is left.
    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func take(_ count: Int) throws(MalformedMessage) -> [UInt8] {
            guard count <= bytes.count - offset else { throw MalformedMessage(reason: "cut short at byte \(offset) of \(bytes.count)") }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }

        mutating func byte() throws(MalformedMessage) -> UInt8 { try take(1)[0] }

        mutating func uint16() throws(MalformedMessage) -> UInt16 {
            let pair = try take(2)
            return UInt16(pair[0]) << 8 | UInt16(pair[1])
        }
    }

    /// The names RFC 8011 gives the status codes a print run may meet, for messages.
    static func statusName(_ code: UInt16) -> String {
        switch code {
        case 0x0400: "client-error-bad-request"
        case 0x0401: "client-error-forbidden"
        case 0x0402: "client-error-not-authenticated"
        case 0x0403: "client-error-not-authorized"
        case 0x0404: "client-error-not-possible"
        case 0x0405: "client-error-timeout"
        case 0x0406: "client-error-not-found"
        case 0x0407: "client-error-gone"
        case 0x0408: "client-error-request-entity-too-large"
        case 0x040A: "client-error-document-format-not-supported"
        case 0x040B: "client-error-attributes-or-values-not-supported"
        case 0x0500: "server-error-internal-error"
        case 0x0501: "server-error-operation-not-supported"
        case 0x0502: "server-error-service-unavailable"
        case 0x0503: "server-error-version-not-supported"
        case 0x0504: "server-error-device-error"
        case 0x0505: "server-error-temporary-error"
        case 0x0506: "server-error-not-accepting-jobs"
        case 0x0507: "server-error-busy"
        default: String(format: "status 0x%04X", code)
        }
    }
}
