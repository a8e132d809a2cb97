import Testing
import VisageCore

/// XXH64 against published values (the reference implementation's and python-xxhash's documentation),
/// covering every tail path and the 32-byte stripes.
@Suite struct XXHash64Tests {
    @Test func publishedValues() {
        #expect(XXHash64.hash(Array("".utf8)) == 0xEF46_DB37_51D8_E999)
        #expect(XXHash64.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXHash64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(XXHash64.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xFBCE_A83C_8A37_8BF1)
    }

    @Test func everyByteMatters() {
        var bytes = (0..<4099).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let original = XXHash64.hash(bytes)
        for position in [0, 31, 32, 4095, 4098] {
            bytes[position] ^= 0x01
            #expect(XXHash64.hash(bytes) != original, "a flipped bit at \(position) changes the hash")
            bytes[position] ^= 0x01
        }
        #expect(XXHash64.hash(bytes) == original)
        #expect(XXHash64.hash(Array(bytes.dropLast())) != original, "a truncated copy differs")
    }
}
