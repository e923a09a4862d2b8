//! Splitting a sweep's grid into shards. A grid of N points is numbered in row-major order;
//! shard i of n is the contiguous range [floor(i·N/n), floor((i+1)·N/n)), so that n servers
//! each score one shard and a client reading the shards one after the other reads the grid in
//! index order, every point once, with shard sizes within one point of each other.

use std::ops::Range;

/// The indices of the points of shard `index` of `count` in a grid of `total` points.
/// `index` below `count` is the caller's to check; a shard past the last is empty.
pub fn shard_points(total: u64, index: u64, count: u64) -> Range<u64> {
    if count == 0 {
        return total..total;
    }
    // In u128: i·N exceeds u64 for large grids, and this must not lean on the server's limit
    // on N to be right.
    let bound = |i: u64| {
        let at = u128::from(i.min(count)) * u128::from(total) / u128::from(count);
        u64::try_from(at).unwrap_or(total)
    };
    bound(index)..bound(index.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every split of every grid in `totals` into every count in `counts`: the shards follow
    /// each other without gap or overlap from 0 to N, and differ in size by at most one.
    fn check_every_split(totals: impl Iterator<Item = u64> + Clone, counts: &[u64]) {
        for total in totals {
            for &count in counts {
                let shards: Vec<Range<u64>> =
                    (0..count).map(|i| shard_points(total, i, count)).collect();
                let mut next = 0;
                for (i, shard) in shards.iter().enumerate() {
                    assert_eq!(shard.start, next, "shard {i} of {count} of {total} points");
                    assert!(shard.start <= shard.end, "shard {i} of {count} of {total}");
                    next = shard.end;
                }
                assert_eq!(
                    next, total,
                    "{count} shards of {total} points end at the end"
                );
                let sizes = shards.iter().map(|s| s.end - s.start);
                let (min, max) = (sizes.clone().min(), sizes.max());
                assert!(
                    max.zip(min).is_some_and(|(max, min)| max - min <= 1),
                    "{count} shards of {total} points are balanced: {shards:?}"
                );
            }
        }
    }

    #[test]
    fn shards_cover_small_grids_exactly_once_in_order() {
        let counts: Vec<u64> = (1..=64).collect();
        check_every_split(0..=300, &counts);
    }

    #[test]
    fn shards_cover_large_grids_exactly_once_in_order() {
        let totals = [
            999_999,
            1_000_000,
            1_000_001,
            7_919 * 7_907,
            u64::from(u32::MAX) + 3,
        ];
        let counts = [1, 2, 3, 7, 10, 64, 999, 1000, 1001, 4096];
        check_every_split(totals.into_iter(), &counts);
    }

    #[test]
    fn shards_of_a_million_points_over_three_servers_are_the_documented_ranges() {
        assert_eq!(shard_points(1_000_000, 0, 3), 0..333_333);
        assert_eq!(shard_points(1_000_000, 1, 3), 333_333..666_666);
        assert_eq!(shard_points(1_000_000, 2, 3), 666_666..1_000_000);
    }

    #[test]
    fn more_shards_than_points_leaves_some_shards_empty() {
        let sizes: Vec<u64> = (0..5)
            .map(|i| shard_points(3, i, 5))
            .map(|r| r.end - r.start)
            .collect();
        assert_eq!(sizes, [0, 1, 0, 1, 1]);
    }

    #[test]
    fn the_arithmetic_does_not_overflow_at_the_extremes() {
        assert_eq!(
            shard_points(u64::MAX, u64::MAX - 1, u64::MAX),
            u64::MAX - 1..u64::MAX
        );
        assert_eq!(shard_points(u64::MAX, 0, 2), 0..u64::MAX / 2);
    }
}
