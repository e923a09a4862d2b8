//! The worked examples of `docs/models/pressure-index.md` and `docs/models/prudent-pressure.md`
//! (2.0) are what the code computes: each table row, rounded as printed there.

use leverage_pressure_model::{prudent_v1, prudent_v2, v2};

/// The rows the server derived from the embedded dataset as of 2026-06-30 (every lever at its
/// default), in `prudent_v2::INPUTS` order, for use modes 0 to 5.
const ROWS_2026_06_30: [[f64; 18]; 6] = [
    [
        0.0,
        0.0,
        0.75,
        2.0,
        5.0,
        266.34992528341394,
        266.34992528341394,
        4.0451894902418495,
        135.0,
        692.6634714138993,
        3.0,
        43.42881429031075,
        90.0,
        0.15220738846103207,
        0.19999999999999996,
        215.6795617939062,
        16.0,
        0.0,
    ],
    [
        1.0,
        0.0,
        0.75,
        2.0,
        5.0,
        266.34992528341394,
        266.34992528341394,
        4.0451894902418495,
        135.0,
        692.6634714138993,
        3.0,
        43.42881429031075,
        90.0,
        0.05336384216961469,
        0.19999999999999996,
        215.6795617939062,
        16.0,
        0.0,
    ],
    [
        2.0,
        0.0,
        0.75,
        2.0,
        5.0,
        266.34992528341394,
        266.34992528341394,
        4.0451894902418495,
        135.0,
        692.6634714138993,
        3.0,
        43.42881429031075,
        90.0,
        0.11454949076014946,
        0.19999999999999996,
        215.6795617939062,
        16.0,
        0.0,
    ],
    [
        3.0,
        0.0,
        0.75,
        2.0,
        5.0,
        266.34992528341394,
        266.34992528341394,
        4.0451894902418495,
        135.0,
        692.6634714138993,
        3.0,
        43.42881429031075,
        90.0,
        0.3774241681467557,
        0.32000000000000006,
        215.6795617939062,
        16.0,
        0.0,
    ],
    [
        4.0,
        0.0,
        0.75,
        2.0,
        5.0,
        266.34992528341394,
        266.34992528341394,
        4.0451894902418495,
        135.0,
        692.6634714138993,
        3.0,
        43.42881429031075,
        90.0,
        0.5934654072781781,
        0.3600000000000001,
        215.6795617939062,
        16.0,
        0.0,
    ],
    [
        5.0,
        0.0,
        0.75,
        2.0,
        5.0,
        266.34992528341394,
        266.34992528341394,
        4.0451894902418495,
        135.0,
        692.6634714138993,
        3.0,
        43.42881429031075,
        90.0,
        0.15203193250153935,
        0.19999999999999996,
        215.6795617939062,
        16.0,
        0.0,
    ],
];

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[test]
fn the_pressure_index_table_is_what_2_0_computes() {
    // money denied, money to Ukraine, speed, sanctions, index, delivered, capacity
    let documented = [
        [26.9, 0.0, 0.0, 50.0, 16.3, 0.0, 66.1],
        [26.9, 14.5, 94.4, 50.0, 38.6, 19.6, 66.1],
        [30.8, 30.0, 83.3, 50.0, 42.8, 40.5, 66.1],
        [34.6, 100.0, 75.0, 50.0, 64.5, 222.9, 66.1],
        [38.5, 100.0, 33.3, 50.0, 58.2, 266.3, 66.1],
        [30.8, 88.9, 83.3, 50.0, 61.2, 120.0, 66.1],
    ];
    let params = v2::Params::defaults();
    for (row, expected) in ROWS_2026_06_30.iter().zip(documented) {
        let p = v2::pressure(&v2::Scenario::from_inputs(row).expect("valid"), &params);
        let c = p.components;
        let got = [c[0], c[1], c[2], c[3], p.index, p.delivered_eur_bn, c[4]].map(|v| round(v, 1));
        assert_eq!(got, expected, "use mode {}", row[0]);
    }
    // The documented correction: the fourth tranche EUR 0.4 bn instead of 1.4 bn.
    let mut corrected = ROWS_2026_06_30[5];
    corrected[10] = 2.0;
    let p = v2::pressure(
        &v2::Scenario::from_inputs(&corrected).expect("valid"),
        &params,
    );
    assert_eq!(
        (round(p.delivered_eur_bn, 1), round(p.index, 1)),
        (110.0, 58.9)
    );
}

#[test]
fn the_prudent_pressure_table_is_what_2_0_computes() {
    // base, legal, retaliation, euro, ceasefire (if 1), prudent, prudent with a ceasefire
    let documented = [
        [16.3, 15.2, 5.7, 5.0, 0.0, 12.4, 12.4],
        [38.6, 5.3, 5.7, 7.5, 3.0, 31.9, 30.9],
        [42.8, 11.5, 5.7, 7.5, 7.5, 33.0, 30.6],
        [64.5, 37.7, 5.7, 15.0, 22.5, 32.2, 25.0],
        [58.2, 59.3, 5.7, 20.0, 30.0, 17.8, 12.5],
        [61.2, 15.2, 5.7, 7.5, 7.5, 45.3, 41.9],
    ];
    let params = prudent_v2::PrudentParams::defaults();
    for (row, expected) in ROWS_2026_06_30.iter().zip(documented) {
        let (prudent, c) = prudent_v2::score(row, &params).expect("scores");
        let mut ceasefire = *row;
        ceasefire[17] = 1.0;
        let (with_ceasefire, cc) = prudent_v2::score(&ceasefire, &params).expect("scores");
        let got = [c[0], c[1], c[2], c[3], cc[4], prudent, with_ceasefire].map(|v| round(v, 1));
        assert_eq!(got, expected, "use mode {}", row[0]);
    }
}

/// The same scenarios as 1.0 reads them (its inputs: the pre-war reserves constant,
/// legal-risk/1's risk of the mode, the client assets stuck in Russia, guarantee sharing 0.5),
/// use modes 0 to 4 (1.0 has no mode 5).
const V1_ROWS_2026_06_30: [[f64; 14]; 5] = [
    [
        0.0,
        0.0,
        0.75,
        2.0,
        5.0,
        266.34992528341394,
        266.34992528341394,
        4.0451894902418495,
        135.0,
        547.7576172543648,
        0.2321365123238089,
        16.0,
        0.5,
        0.0,
    ],
    [
        1.0,
        0.0,
        0.75,
        2.0,
        5.0,
        266.34992528341394,
        266.34992528341394,
        4.0451894902418495,
        135.0,
        547.7576172543648,
        0.16443734397829257,
        16.0,
        0.5,
        0.0,
    ],
    [
        2.0,
        0.0,
        0.75,
        2.0,
        5.0,
        266.34992528341394,
        266.34992528341394,
        4.0451894902418495,
        135.0,
        547.7576172543648,
        0.24585075375345203,
        16.0,
        0.5,
        0.0,
    ],
    [
        3.0,
        0.0,
        0.75,
        2.0,
        5.0,
        266.34992528341394,
        266.34992528341394,
        4.0451894902418495,
        135.0,
        547.7576172543648,
        0.6773428718125555,
        16.0,
        0.5,
        0.0,
    ],
    [
        4.0,
        0.0,
        0.75,
        2.0,
        5.0,
        266.34992528341394,
        266.34992528341394,
        4.0451894902418495,
        135.0,
        547.7576172543648,
        0.8243455045927933,
        16.0,
        0.5,
        0.0,
    ],
];

#[test]
fn the_1_0_scores_quoted_beside_the_2_0_table_are_what_1_0_computes() {
    let config = leverage_plugin_api::Config::defaults(&prudent_v1::PARAMETERS);
    let params = prudent_v1::PrudentParams::from_config(&config).expect("valid");
    let quoted = [19.6, 32.6, 31.8, 15.2, 6.8];
    for (row, expected) in V1_ROWS_2026_06_30.iter().zip(quoted) {
        let (prudent, _) = prudent_v1::score(row, &params).expect("scores");
        assert_eq!(round(prudent, 1), expected, "use mode {}", row[0]);
    }
}
