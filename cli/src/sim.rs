//! `--backend sim`: the simulated accelerator's stage times from `--sim-stages`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use accelrt::Timeline;
use accelrt_sim::SimConfig;

/// Per-batch times of the four steps, from `--sim-stages prepare,h2d,compute,d2h` (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimStages {
    /// Host preparation.
    pub prepare: Duration,
    /// Host-to-device copy.
    pub h2d: Duration,
    /// Kernels.
    pub compute: Duration,
    /// Device-to-host copy.
    pub d2h: Duration,
}

impl FromStr for SimStages {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let expected = "expected four times in ms, prepare,h2d,compute,d2h, like 3,2,4,1";
        let ms: Vec<Duration> = s
            .split(',')
            .map(|p| {
                p.trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(|v| Duration::try_from_secs_f64(v / 1e3).ok())
                    .ok_or_else(|| format!("\"{p}\" is not a time in ms ({expected})"))
            })
            .collect::<Result<_, _>>()?;
        let [prepare, h2d, compute, d2h] = ms[..] else {
            return Err(format!("got {} value(s), {expected}", ms.len()));
        };
        Ok(SimStages {
            prepare,
            h2d,
            compute,
            d2h,
        })
    }
}

impl fmt::Display for SimStages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        write!(
            f,
            "prepare {} ms, h2d {} ms, compute {} ms, d2h {} ms",
            ms(self.prepare),
            ms(self.h2d),
            ms(self.compute),
            ms(self.d2h)
        )
    }
}

/// The simulator's settings for one run.
#[derive(Debug, Clone)]
pub struct SimTarget {
    /// Stage times.
    pub stages: SimStages,
    /// Elements per request (`f32 [1, len]`).
    pub len: usize,
    /// Independent compute engines.
    pub compute_units: usize,
}

impl SimTarget {
    /// The device config for a run allowing batches of `max_batch`, recording into `timeline`.
    pub fn config(&self, max_batch: usize, timeline: Option<&Timeline>) -> SimConfig {
        let s = self.stages;
        let mut config = SimConfig::stages(s.prepare, s.h2d, s.compute, s.d2h);
        config.len = self.len;
        config.compute_units = self.compute_units;
        // The simulated model accepts any batch the runtime asks for; the runtime's own
        // max_batch is what the user explores.
        config.max_batch = config.max_batch.max(max_batch);
        match timeline {
            Some(tl) => config.with_timeline(tl.clone()),
            None => config,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_parse_in_milliseconds() {
        let s: SimStages = "3,2,4.5,1".parse().unwrap();
        assert_eq!(s.compute, Duration::from_micros(4500));
        assert_eq!(s.prepare, Duration::from_millis(3));
        assert!("3,2,4".parse::<SimStages>().unwrap_err().contains("got 3 value(s)"));
        assert!("3,2,x,1".parse::<SimStages>().unwrap_err().contains("\"x\""));
        assert!("3,2,-1,1".parse::<SimStages>().is_err());
    }
}
