//! The result of one scoring call: every row's checked score and components, or its error.
//!
//! One buffer holds the whole batch and only failing rows carry an entry of their own, so a
//! call of any size costs one allocation for its values and nothing per row.

use std::fmt;

use crate::error::RowError;

/// The rows of one call, in the order they were passed.
///
/// A row is either a [`RowView`] (its score and components, each finite and within the range
/// the plugin declared) or the [`RowError`] that explains why it has none.
#[derive(Clone, Default)]
pub struct Scored {
    /// Row-major, `width` values per row: the score, then each component. The values of a
    /// failing row are never shown.
    values: Vec<f64>,
    width: usize,
    rows: usize,
    /// The failing rows, ascending.
    errors: Vec<(usize, RowError)>,
}

/// A scored row, borrowed from its [`Scored`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowView<'a> {
    /// The score, within the declared range.
    pub score: f64,
    components: &'a [f64],
}

impl<'a> RowView<'a> {
    /// The components, each within its declared range, in metadata order.
    pub fn components(&self) -> &'a [f64] {
        self.components
    }
}

impl Scored {
    /// `rows` rows of `width` values each (score, then components) in `values`, of which the
    /// rows named in `errors` (ascending) failed.
    pub(crate) fn new(
        values: Vec<f64>,
        width: usize,
        rows: usize,
        errors: Vec<(usize, RowError)>,
    ) -> Scored {
        debug_assert!(width >= 1 && values.len() >= rows * width);
        debug_assert!(errors.windows(2).all(|pair| pair[0].0 < pair[1].0));
        Scored {
            values,
            width,
            rows,
            errors,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Row `row`, or `None` past the end.
    pub fn get(&self, row: usize) -> Option<Result<RowView<'_>, &RowError>> {
        if row >= self.rows {
            return None;
        }
        Some(
            match self.errors.binary_search_by_key(&row, |(at, _)| *at) {
                Ok(at) => Err(&self.errors[at].1),
                Err(_) => Ok(self.view(row)),
            },
        )
    }

    /// The rows in order.
    pub fn iter(&self) -> Rows<'_> {
        Rows {
            scored: self,
            row: 0,
            next_error: 0,
        }
    }

    /// The failing rows (row index and error), ascending.
    pub fn errors(&self) -> &[(usize, RowError)] {
        &self.errors
    }

    fn view(&self, row: usize) -> RowView<'_> {
        let values = &self.values[row * self.width..(row + 1) * self.width];
        RowView {
            score: values[0],
            components: &values[1..],
        }
    }
}

/// The rows of a [`Scored`], in order.
#[derive(Clone, Debug)]
pub struct Rows<'a> {
    scored: &'a Scored,
    row: usize,
    /// The first entry of `scored.errors` not yet passed.
    next_error: usize,
}

impl<'a> Iterator for Rows<'a> {
    type Item = Result<RowView<'a>, &'a RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let scored = self.scored;
        if self.row >= scored.rows {
            return None;
        }
        let row = self.row;
        self.row += 1;
        match scored.errors.get(self.next_error) {
            Some((at, error)) if *at == row => {
                self.next_error += 1;
                Some(Err(error))
            }
            _ => Some(Ok(scored.view(row))),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.scored.rows - self.row;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Rows<'_> {}

impl<'a> IntoIterator for &'a Scored {
    type Item = Result<RowView<'a>, &'a RowError>;
    type IntoIter = Rows<'a>;

    fn into_iter(self) -> Rows<'a> {
        self.iter()
    }
}

/// Row by row: a failing row's values (which nobody may see) take no part.
impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for Scored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Scored {
        // Three rows, two components each; row 1 failed (its values are garbage).
        let values = vec![0.1, 0.2, 0.3, f64::NAN, 9.0, 9.0, 0.7, 0.8, 0.9];
        Scored::new(values, 3, 3, vec![(1, RowError::NotRun)])
    }

    #[test]
    fn rows_are_read_alike_by_index_and_in_order() {
        let scored = sample();
        assert_eq!(scored.len(), 3);
        let by_index: Vec<_> = (0..scored.len()).map(|i| scored.get(i).unwrap()).collect();
        let in_order: Vec<_> = scored.iter().collect();
        assert_eq!(by_index, in_order);
        let first = in_order[0].expect("row 0 scored");
        assert_eq!((first.score, first.components()), (0.1, &[0.2, 0.3][..]));
        assert_eq!(in_order[1], Err(&RowError::NotRun));
        assert_eq!(in_order[2].expect("row 2 scored").components(), &[0.8, 0.9]);
        assert!(scored.get(3).is_none());
        assert_eq!(scored.iter().len(), 3);
    }

    #[test]
    fn equality_ignores_what_a_failing_row_left_behind() {
        let mut other = sample();
        other.values[3] = 0.5;
        assert_eq!(sample(), other);
        other.values[0] = 0.0;
        assert_ne!(sample(), other);
    }
}
