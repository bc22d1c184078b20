//! Splitting a study's runs into N slices for N machines (`run --slice I/N`, `chainsim slurm`):
//! balanced by each run's expected work, so that no machine is left with the long runs while the
//! others idle. Every slice of one plan is computed the same way, wherever it runs.

use crate::load::LoadedExperiment;
use crate::runner::RunSpec;

/// The I-th of N slices of the runs (1-based).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Slice {
    /// Which slice, 1..=count.
    pub index: usize,
    /// How many slices.
    pub count: usize,
}

impl Slice {
    /// Parses `I/N` with 1 ≤ I ≤ N.
    pub fn parse(text: &str) -> Result<Slice, String> {
        let bad = || format!("`{text}` is not a slice: write I/N with 1 ≤ I ≤ N, e.g. --slice 2/8");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) =
            (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Slice { index, count })
    }
}

/// A run's expected work: the protocol's estimate from the run's configuration.
pub fn expected_work(loaded: &LoadedExperiment, spec: &RunSpec) -> f64 {
    let experiment = &loaded.points[spec.point].experiment;
    experiment.protocol.work_estimate(&experiment.setting())
}

/// The slice (0-based) of each run of `plan` when split `count` ways: runs in decreasing order of
/// expected work (ties in plan order), each to the slice with the least work so far (ties: the
/// lowest). Equal runs go round the slices in turn.
pub fn assign(work: &[f64], count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..work.len()).collect();
    order.sort_by(|&a, &b| work[b].total_cmp(&work[a]).then(a.cmp(&b)));
    let mut load = vec![0.0f64; count.max(1)];
    let mut slice_of = vec![0; work.len()];
    for position in order {
        let lightest = (0..load.len()).min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b))).unwrap_or(0);
        load[lightest] += work[position];
        slice_of[position] = lightest;
    }
    slice_of
}

/// The runs of `plan` in `slice`, in plan order.
pub fn runs_of<'p>(loaded: &LoadedExperiment, plan: &'p [RunSpec], slice: Slice) -> Vec<&'p RunSpec> {
    let work: Vec<f64> = plan.iter().map(|spec| expected_work(loaded, spec)).collect();
    let slice_of = assign(&work, slice.count);
    plan.iter().zip(slice_of).filter(|&(_, s)| s == slice.index - 1).map(|(spec, _)| spec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_parse_from_one_to_n() {
        assert_eq!(Slice::parse("2/8"), Ok(Slice { index: 2, count: 8 }));
        for bad in ["0/3", "4/3", "x", "1/", "/2"] {
            assert!(Slice::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn equal_runs_go_round_the_slices() {
        assert_eq!(assign(&[1.0; 7], 3), vec![0, 1, 2, 0, 1, 2, 0]);
    }

    /// One run as long as three others: it gets a slice of its own, and the slices' work is
    /// equal, where dealing by count would give one slice twice the work of the other.
    #[test]
    fn slices_balance_expected_work_not_counts() {
        let work = [1.0, 1.0, 1.0, 3.0];
        let slices = assign(&work, 2);
        let total = |s: usize| work.iter().zip(&slices).filter(|&(_, &x)| x == s).map(|(w, _)| w).sum::<f64>();
        assert_eq!((total(0), total(1)), (3.0, 3.0));
        assert_eq!(slices[3], 0, "the longest run first, to the first slice");
    }

    #[test]
    fn every_run_is_in_exactly_one_slice() {
        let work: Vec<f64> = (0..50).map(|i| f64::from((i * 37) % 11)).collect();
        let slices = assign(&work, 6);
        assert!(slices.iter().all(|&s| s < 6));
        assert_eq!(slices.len(), 50);
    }
}
