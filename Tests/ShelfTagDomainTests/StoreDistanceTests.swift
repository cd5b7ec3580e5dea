import Foundation
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

    /// The point `kilometres` from `origin` on the initial bearing `degrees` (spherical destination formula).
    private func destination(from origin: Store, kilometres: Double, bearing degrees: Double) -> Store {
        let radians = Double.pi / 180
        let angle = kilometres / 6371.0088
        let (latitude, longitude, bearing) = (origin.latitude * radians, origin.longitude * radians, degrees * radians)
        let end = asin(sin(latitude) * cos(angle) + cos(latitude) * sin(angle) * cos(bearing))
        let east = atan2(sin(bearing) * sin(angle) * cos(latitude), cos(angle) - sin(latitude) * sin(end))
        var endLongitude = (longitude + east) / radians
        if endLongitude > 180 { endLongitude -= 360 } else if endLongitude < -180 { endLongitude += 360 }
        return store(end / radians, endLongitude)
    }

    @Test(
        "every point within a distance lies within the longitude band the short way round (across ±180° too), the band is no wider than it must be, and none is given when a pole is within the distance"
    )
    func longitudeBandHoldsEveryPointWithinTheDistance() {
        for kilometres in [0.5, 50, 250, 2_000] {
            let latitudeBand = Store.latitudeDegrees(spanning: kilometres)
            for latitude in stride(from: -89.0, through: 89.0, by: 3.625) {
                let here = store(latitude, 179.5)
                guard let band = Store.longitudeDegrees(spanning: kilometres, atLatitude: latitude) else {
                    #expect(abs(latitude) + latitudeBand >= 90 - 1e-9, "a band at \(latitude)° for \(kilometres) km")
                    continue
                }
                var widest = 0.0
                for bearing in stride(from: 0.0, to: 360, by: 0.5) {
                    for fraction in [1.0, 0.5] {
                        let there = destination(from: here, kilometres: kilometres * fraction, bearing: bearing)
                        let apart = abs(there.longitude - here.longitude)
                        let shortWay = min(apart, 360 - apart)
                        #expect(shortWay <= band, "\(latitude)°, \(kilometres) km, bearing \(bearing)°: \(shortWay)° > \(band)°")
                        widest = max(widest, shortWay)
                    }
                }
                #expect(widest >= band * 0.999 - 1e-6, "\(latitude)°, \(kilometres) km: the band \(band)° is wider than the circle's \(widest)°")
            }
        }
        #expect(Store.longitudeDegrees(spanning: 50, atLatitude: 89.9) == nil)
        #expect(Store.longitudeDegrees(spanning: 50, atLatitude: -89.9) == nil)
        #expect(Store.longitudeDegrees(spanning: 25_000, atLatitude: 0) == nil)
    }
}
