extension String {
    /// The pieces between an ASCII `separator`, cut by UTF-8 bytes: what `split(separator:)` gives for feed values,
    /// without the grapheme breaking that made that split a fifth of a product feed's parsing. (A separator followed by
    /// a combining mark is one character to `split(separator:)` and a cut here; no value a feed field may hold differs.)
    public func split(byte separator: UInt8, omittingEmptySubsequences: Bool = true) -> [Substring] {
        utf8.split(separator: separator, omittingEmptySubsequences: omittingEmptySubsequences).map { Substring($0) }
    }
}
