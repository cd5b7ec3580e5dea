import ShelfTagDomain

/// An EAN-13, EAN-8 or UPC-A symbol as modules (GS1 General Specifications, 5.2).
struct LinearBarcode: Equatable {
    let symbology: GTIN.Symbology
    /// The encoded digits: 13, 8 or 12.
    let digits: [UInt8]
    /// One entry per module, true for a bar.
    let modules: [Bool]
    /// Modules of the guard patterns (and UPC-A's outer digits), which reach into the digit band.
    let extendsDown: [Bool]

    /// Light modules each side required by the specification.
    var quietZone: (left: Int, right: Int) {
        switch symbology {
        case .ean13: (11, 7)
        case .ean8: (7, 7)
        case .upcA, .none: (9, 9)
        }
    }

    var widthInModules: Int { quietZone.left + modules.count + quietZone.right }

    // Symbol characters, 7 modules each, most significant bit first (1 a bar): set A (odd parity), set B (even), set C.
    private static let leftOdd: [UInt8] = [0b0001101, 0b0011001, 0b0010011, 0b0111101, 0b0100011, 0b0110001, 0b0101111, 0b0111011, 0b0110111, 0b0001011]
    private static let leftEven: [UInt8] = [0b0100111, 0b0110011, 0b0011011, 0b0100001, 0b0011101, 0b0111001, 0b0000101, 0b0010001, 0b0001001, 0b0010111]
    private static let right: [UInt8] = [0b1110010, 0b1100110, 0b1101100, 0b1000010, 0b1011100, 0b1001110, 0b1010000, 0b1000100, 0b1001000, 0b1110100]
    /// For EAN-13, the leading digit is carried by the parity of the six left digits: a bit per digit, 1 for even.
    private static let parity: [UInt8] = [0b000000, 0b001011, 0b001101, 0b001110, 0b010011, 0b011001, 0b011100, 0b010101, 0b010110, 0b011010]

    /// The symbol for a GTIN's symbology, or nil when it has none (GTIN-14).
    init?(gtin: GTIN) {
        guard gtin.symbology != .none else { return nil }
        symbology = gtin.symbology
        digits = gtin.symbolDigits.utf8.map { $0 - UInt8(ascii: "0") }
        var modules: [Bool] = []
        var extendsDown: [Bool] = []
        modules.reserveCapacity(95)
        extendsDown.reserveCapacity(95)
        func add(_ bits: UInt8, count: Int, guard isGuard: Bool) {
            for shift in stride(from: count - 1, through: 0, by: -1) {
                modules.append(bits >> shift & 1 == 1)
                extendsDown.append(isGuard)
            }
        }
        let (leftDigits, rightDigits): (ArraySlice<UInt8>, ArraySlice<UInt8>)
        let evenDigits: UInt8
        switch symbology {
        case .ean13:
            leftDigits = digits[1...6]
            rightDigits = digits[7...12]
            evenDigits = Self.parity[Int(digits[0])]
        case .upcA:
            // UPC-A is EAN-13 with a leading 0: all six left digits odd.
            leftDigits = digits[0...5]
            rightDigits = digits[6...11]
            evenDigits = 0
        default:
            leftDigits = digits[0...3]
            rightDigits = digits[4...7]
            evenDigits = 0
        }
        let upcOuter = symbology == .upcA
        add(0b101, count: 3, guard: true)
        for (index, digit) in leftDigits.enumerated() {
            let isEven = evenDigits >> (leftDigits.count - 1 - index) & 1 == 1
            add(isEven ? Self.leftEven[Int(digit)] : Self.leftOdd[Int(digit)], count: 7, guard: upcOuter && index == 0)
        }
        add(0b01010, count: 5, guard: true)
        for (index, digit) in rightDigits.enumerated() {
            add(Self.right[Int(digit)], count: 7, guard: upcOuter && index == rightDigits.count - 1)
        }
        add(0b101, count: 3, guard: true)
        self.modules = modules
        self.extendsDown = extendsDown
    }
}
