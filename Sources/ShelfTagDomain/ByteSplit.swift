extension String {
    /// The pieces between an ASCII `separator`, cut by UTF-8 bytes: what `split(separator:)` gives for feed values,
    /// without the grapheme breaking that made that split a fifth of a product feed's parsing. (A separator followed by
    /// a combining mark is one character to `split(separator:)` and a cut here; no value a feed field may hold differs.)
    public func split(byte separator: UInt8, omittingEmptySubsequences: Bool = true) -> [Substring] {
        utf8.split(separator: separator, omittingEmptySubsequences: omittingEmptySubsequences).map { Substring($0) }
    }

    /// Where the next piece `split(byte:)` gives starts and ends, from `start` on: found in place, without the array
    /// and substrings a split allocates, for values read once per feed row.
    public func nextPiece(splitBy separator: UInt8, from start: Index) -> Range<Index>? {
        guard let first = utf8[start...].firstIndex(where: { $0 != separator }) else { return nil }
        return first..<(utf8[first...].firstIndex(of: separator) ?? endIndex)
    }
}
