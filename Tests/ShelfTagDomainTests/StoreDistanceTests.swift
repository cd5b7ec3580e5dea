import ShelfTagDomain
import Testing

@Suite("Distances between stores")
struct StoreDistanceTests {
    private func store(_ latitude: Double, _ longitude: Double) -> Store {
        Store(code: "S", name: "S", address: "", latitude: latitude, longitude: longitude, timeZone: "UTC", locale: "en")
    }

    @Test("Paris to Lille along the great circle")
    func parisToLille() {
        let distance = store(48.8606, 2.3412).distanceKilometres(to: store(50.6369, 3.0635))
        #expect(abs(distance - 203.9) < 0.5, "\(distance)")
    }

    @Test("a store farther in latitude than a distance's band is farther than the distance, at any longitude; one due north at the band's edge is at it")
    func latitudeBandHoldsEveryStoreWithinTheDistance() {
        for kilometres in [0.5, 50, 250, 2_000] {
            let band = Store.latitudeDegrees(spanning: kilometres)
            for latitude in stride(from: -89.0, through: 89.0, by: 7.25) {
                let here = store(latitude, 179.5)
                let north = min(90, latitude + band)
                #expect(abs(here.distanceKilometres(to: store(north, 179.5)) - kilometres) <= kilometres * 1e-8 || north == 90)
                for longitude in stride(from: -180.0, through: 180.0, by: 22.5) {
                    for other in [latitude + band * 1.000_001, latitude - band * 1.000_001] where abs(other) <= 90 {
                        #expect(here.distanceKilometres(to: store(other, longitude)) > kilometres, "\(latitude), \(other), \(longitude)")
                    }
                }
            }
        }
    }
}
