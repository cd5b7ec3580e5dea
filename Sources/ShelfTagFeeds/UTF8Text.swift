/// Feed fields as strings, refused when their bytes are not UTF-8.
enum UTF8Text {
    /// The string `bytes` hold, or nil when they are not well-formed UTF-8 (Unicode table 3-7). The standard library's
    /// `String(validating:as:)` is generic and unspecialised: looking up its metadata cost a tenth of a feed's parsing.
    static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let continuations: Int
            var second: ClosedRange<UInt8> = 0x80...0xBF
            switch lead {
            case 0xC2...0xDF: continuations = 1
            case 0xE0: (continuations, second) = (2, 0xA0...0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: continuations = 2
            case 0xED: (continuations, second) = (2, 0x80...0x9F)
            case 0xF0: (continuations, second) = (3, 0x90...0xBF)
            case 0xF1...0xF3: continuations = 3
            case 0xF4: (continuations, second) = (3, 0x80...0x8F)
            default: return nil
            }
            guard index + continuations < count, second.contains(bytes[index + 1]) else { return nil }
            for offset in stride(from: 2, through: continuations, by: 1) where !(0x80...0xBF).contains(bytes[index + offset]) { return nil }
            index += continuations + 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
