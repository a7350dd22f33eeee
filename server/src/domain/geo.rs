//! Distances on the ground, for "is this the same problem nearby?".

use hehe_protocol::issue::GeoPoint;

/// Great-circle distance in metres (haversine; plenty at neighbourhood scale).
pub fn distance_m(a: GeoPoint, b: GeoPoint) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_000.0;
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// How close two reports must be to count as nearby.
pub const NEARBY_M: f64 = 200.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        let bund = GeoPoint {
            lat: 31.2400,
            lon: 121.4900,
        };
        assert_eq!(distance_m(bund, bund), 0.0);
        // 0.001° of latitude is about 111 m anywhere.
        let north = GeoPoint {
            lat: 31.2410,
            lon: 121.4900,
        };
        assert!((distance_m(bund, north) - 111.2).abs() < 0.5);
        let far = GeoPoint {
            lat: 31.2500,
            lon: 121.4900,
        };
        assert!(distance_m(bund, far) > NEARBY_M);
        assert!((distance_m(bund, far) - distance_m(far, bund)).abs() < 1e-9);
    }
}
