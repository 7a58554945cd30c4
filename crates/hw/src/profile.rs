//! Device profiles: TOML data files (schema in `profiles/README.md`), parsed strictly (every
//! field required unless marked optional, unknown fields rejected) and validated (positive
//! rates, efficiencies in (0, 1], named memory levels exist). Errors name the file and field.

use crate::{HwError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The numeric format a model runs in on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    Fp32,
    Fp16,
    Int8,
}

impl Precision {
    /// Bytes per element of weights and activations.
    pub fn bytes(self) -> u64 {
        match self {
            Precision::Fp32 => 4,
            Precision::Fp16 => 2,
            Precision::Int8 => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Fp16 => "fp16",
            Precision::Int8 => "int8",
        }
    }

    pub fn parse(s: &str) -> Result<Precision> {
        match s {
            "fp32" | "f32" => Ok(Precision::Fp32),
            "fp16" | "f16" => Ok(Precision::Fp16),
            "int8" | "i8" => Ok(Precision::Int8),
            _ => Err(HwError::Invalid(format!(
                "unknown dtype '{s}' (expected fp32, fp16 or int8)"
            ))),
        }
    }
}

/// Which cost model applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Cpu,
    Mcu,
    Gpu,
    Systolic,
    Fpga,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    pub name: String,
    pub description: String,
    pub kind: Kind,
    pub clock_hz: f64,
    pub cores: u32,
    /// Process node (nm) of the silicon; energy numbers are scaled from 45 nm to it.
    pub process_nm: f64,
    pub source: String,
}

/// Throughput of one precision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throughput {
    /// Peak multiply-accumulates per second, all cores.
    pub peak_macs_per_s: f64,
    /// Sustained fraction of the peak reached by good kernels (0, 1].
    pub efficiency: f64,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compute {
    pub fp32: Throughput,
    pub fp16: Throughput,
    pub int8: Throughput,
    /// Whether 3x3 stride-1 convolutions run as Winograd F(2x2, 3x3) (2.25x fewer multiplies).
    pub winograd: bool,
}

impl Compute {
    pub fn of(&self, p: Precision) -> &Throughput {
        match p {
            Precision::Fp32 => &self.fp32,
            Precision::Fp16 => &self.fp16,
            Precision::Int8 => &self.int8,
        }
    }
}

/// One level of the memory hierarchy, innermost first in the profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryLevel {
    pub name: String,
    /// `register`, `cache` (filled on demand), `sram` (scratchpad), `dram` or `flash`.
    pub kind: String,
    pub size_bytes: u64,
    pub bandwidth_bytes_per_s: f64,
    pub energy_pj_per_byte: f64,
    pub source: String,
}

/// Energy per arithmetic operation at the device's node (already scaled from 45 nm).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpEnergy {
    /// One multiply plus one add.
    pub mac_pj: f64,
    /// One add (element-wise ops).
    pub op_pj: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Energy {
    pub fp32: OpEnergy,
    pub fp16: OpEnergy,
    pub int8: OpEnergy,
    /// Static power while running (W), charged for the latency.
    pub static_w: f64,
    pub source: String,
}

impl Energy {
    pub fn of(&self, p: Precision) -> &OpEnergy {
        match p {
            Precision::Fp32 => &self.fp32,
            Precision::Fp16 => &self.fp16,
            Precision::Int8 => &self.int8,
        }
    }
}

/// Where weights and activations live, by memory level name; their sizes are the limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    pub weights: String,
    pub activations: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overhead {
    /// Fixed time per layer (dispatch, kernel launch, loop set-up), seconds.
    pub per_layer_s: f64,
    pub source: String,
}

/// A weight- or output-stationary systolic MAC array.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Systolic {
    pub rows: u64,
    pub cols: u64,
    /// `ws` (weight stationary) or `os` (output stationary).
    pub dataflow: String,
    pub ifmap_sram_bytes: u64,
    pub filter_sram_bytes: u64,
    pub ofmap_sram_bytes: u64,
    /// Precisions the array computes; others run on `compute.<dtype>` as a roofline.
    pub precisions: Vec<Precision>,
    pub source: String,
}

/// A DSP-array FPGA design.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fpga {
    pub dsp_count: u64,
    /// Cycles from the first input of a layer to its first output.
    pub pipeline_depth_cycles: u64,
    /// On-chip (BRAM/URAM) bytes the design reads or writes per cycle.
    pub onchip_bytes_per_cycle: f64,
    pub source: String,
}

/// GPU occupancy parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gpu {
    pub sm_count: u64,
    pub cores_per_sm: u64,
    /// Resident threads needed to hide latency (full occupancy), whole GPU.
    pub threads_for_full_occupancy: u64,
    pub source: String,
}

/// A fitted linear model of one runtime kernel: time = coef · features (seconds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelModel {
    /// The runtime's kernel name, refined (`conv.depthwise.k3s1`, `reference.LSTM`), or a
    /// kernel family (`conv`, `gemm`, `reference`) fitted on all of its kernels.
    pub key: String,
    /// Coefficients for [`HostModel::features`], in order.
    pub coef: Vec<f64>,
    /// Node timings the fit used.
    pub samples: u64,
    /// Root-mean-square relative error of the fit on its samples.
    pub fit_rel_rms: f64,
}

/// Per-kernel linear models fitted on this host by `edgeopt hw calibrate`, from per-node
/// times measured inside whole models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostModel {
    pub measured_on: String,
    pub threads: u64,
    /// The models and layers calibrated on (the validation set is disjoint from them).
    pub calibration_set: String,
    /// Per-core cache sizes the features compare working sets with (sysfs of this host).
    pub l1_bytes: u64,
    pub l2_bytes: u64,
    /// The share of the shared last-level cache a model's weights stay in between runs:
    /// chosen by calibration (the candidate size whose fit predicts the calibration models
    /// best; the L3 is shared with other processes and tenants).
    pub llc_bytes: u64,
    /// CPU seconds of the canary models during calibration (`crate::canary`): `hw validate`
    /// compares the canary's time then with this to measure the machine's drift.
    pub canary_s: f64,
    /// Time per run outside the nodes (checking and copying inputs, copying outputs, the
    /// executor's work between steps): `per_run_s + per_run_s_per_byte x` the bytes of the
    /// graph's inputs and outputs `+ per_run_s_per_step x` the steps that run `+
    /// per_run_node_fraction x` the nodes' own time.
    pub per_run_s: f64,
    pub per_run_s_per_byte: f64,
    #[serde(default)]
    pub per_run_s_per_step: f64,
    #[serde(default)]
    pub per_run_node_fraction: f64,
    /// Feature names, in coefficient order (`crate::host_nodes::NODE_FEATURES`).
    pub features: Vec<String>,
    pub kernels: Vec<KernelModel>,
}

/// A device profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub device: Device,
    pub compute: Compute,
    pub memory: Vec<MemoryLevel>,
    pub placement: Placement,
    pub energy: Energy,
    pub overhead: Overhead,
    pub systolic: Option<Systolic>,
    pub fpga: Option<Fpga>,
    pub gpu: Option<Gpu>,
    pub host_model: Option<HostModel>,
}

/// The profiles shipped with edgeopt, compiled into the binary.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "host-xeon-icelake-avx512",
        include_str!("../../../profiles/host-xeon-icelake-avx512.toml"),
    ),
    (
        "cortex-a53",
        include_str!("../../../profiles/cortex-a53.toml"),
    ),
    (
        "cortex-a72",
        include_str!("../../../profiles/cortex-a72.toml"),
    ),
    (
        "cortex-a76",
        include_str!("../../../profiles/cortex-a76.toml"),
    ),
    (
        "stm32f746",
        include_str!("../../../profiles/stm32f746.toml"),
    ),
    (
        "jetson-nano",
        include_str!("../../../profiles/jetson-nano.toml"),
    ),
    ("edge-tpu", include_str!("../../../profiles/edge-tpu.toml")),
    (
        "zcu104-dsp",
        include_str!("../../../profiles/zcu104-dsp.toml"),
    ),
];

/// Other names of built-in profiles: `host` is this machine's calibrated profile;
/// `host-epyc-avx2` is its name before session 4 (the brief's machine description; the
/// CPU is an Intel Xeon Ice Lake with AVX-512 and VNNI).
pub const ALIASES: &[(&str, &str)] = &[
    ("host", "host-xeon-icelake-avx512"),
    ("host-epyc-avx2", "host-xeon-icelake-avx512"),
];

/// The built-in profile `name` (or an alias of one): its canonical name and TOML text.
pub fn builtin(name: &str) -> Option<(&'static str, &'static str)> {
    let name = ALIASES
        .iter()
        .find(|(a, _)| *a == name)
        .map_or(name, |(_, to)| *to);
    BUILTIN.iter().find(|(n, _)| *n == name).copied()
}

impl Profile {
    /// Parses and validates a profile; `origin` (a file name) prefixes every error.
    /// A profile without its `[host_model]` (the base `edgeopt hw calibrate` measures into;
    /// a model fitted with other features does not have to parse).
    pub fn load_base(name_or_path: &str) -> Result<Profile> {
        let text = match builtin(name_or_path) {
            Some((_, t)) => t.to_string(),
            None => std::fs::read_to_string(name_or_path).map_err(|e| HwError::Io {
                path: name_or_path.into(),
                source: e,
            })?,
        };
        let err = |e: String| HwError::Profile {
            origin: name_or_path.to_string(),
            message: e,
        };
        let mut v: toml::Table = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        v.remove("host_model");
        let text = toml::to_string(&v).map_err(|e| err(e.to_string()))?;
        Profile::parse(&text, name_or_path)
    }

    pub fn parse(text: &str, origin: &str) -> Result<Profile> {
        let p: Profile = toml::from_str(text).map_err(|e| HwError::Profile {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        p.validate().map_err(|message| HwError::Profile {
            origin: origin.to_string(),
            message,
        })?;
        Ok(p)
    }

    /// A built-in profile by name, or a TOML file by path.
    pub fn load(name_or_path: &str) -> Result<Profile> {
        if let Some((n, text)) = builtin(name_or_path) {
            return Profile::parse(text, &format!("profiles/{n}.toml"));
        }
        let path = Path::new(name_or_path);
        if !path.exists() {
            let known: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            return Err(HwError::Invalid(format!(
                "unknown device '{name_or_path}': not a built-in profile ({}) nor a file",
                known.join(", ")
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| HwError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Profile::parse(&text, &path.display().to_string())
    }

    /// The profile as TOML.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| HwError::Invalid(format!("cannot write profile: {e}")))
    }

    /// Index of a memory level by name.
    pub fn level(&self, name: &str) -> Option<usize> {
        self.memory.iter().position(|m| m.name == name)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let pos = |v: f64, field: &str| -> std::result::Result<(), String> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!(
                    "field '{field}' must be a positive number, got {v}"
                ))
            }
        };
        let nonneg = |v: f64, field: &str| -> std::result::Result<(), String> {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("field '{field}' must be >= 0, got {v}"))
            }
        };
        pos(self.device.clock_hz, "device.clock_hz")?;
        pos(self.device.process_nm, "device.process_nm")?;
        if self.device.cores == 0 {
            return Err("field 'device.cores' must be >= 1".into());
        }
        for p in [Precision::Fp32, Precision::Fp16, Precision::Int8] {
            let t = self.compute.of(p);
            pos(
                t.peak_macs_per_s,
                &format!("compute.{}.peak_macs_per_s", p.name()),
            )?;
            let e = t.efficiency;
            if !(e > 0.0 && e <= 1.0) {
                return Err(format!(
                    "field 'compute.{}.efficiency' must be in (0, 1], got {e}",
                    p.name()
                ));
            }
            let en = self.energy.of(p);
            nonneg(en.mac_pj, &format!("energy.{}.mac_pj", p.name()))?;
            nonneg(en.op_pj, &format!("energy.{}.op_pj", p.name()))?;
        }
        nonneg(self.energy.static_w, "energy.static_w")?;
        nonneg(self.overhead.per_layer_s, "overhead.per_layer_s")?;
        if self.memory.is_empty() {
            return Err("field 'memory' must list at least one level".into());
        }
        for (i, m) in self.memory.iter().enumerate() {
            let f = |x: &str| format!("memory[{i}] ({}).{x}", m.name);
            pos(m.bandwidth_bytes_per_s, &f("bandwidth_bytes_per_s"))?;
            nonneg(m.energy_pj_per_byte, &f("energy_pj_per_byte"))?;
            if m.size_bytes == 0 {
                return Err(format!("field '{}' must be > 0", f("size_bytes")));
            }
            if !["register", "cache", "sram", "dram", "flash"].contains(&m.kind.as_str()) {
                return Err(format!(
                    "field '{}' must be register, cache, sram, dram or flash, got '{}'",
                    f("kind"),
                    m.kind
                ));
            }
        }
        for (field, name) in [
            ("placement.weights", &self.placement.weights),
            ("placement.activations", &self.placement.activations),
        ] {
            if self.level(name).is_none() {
                return Err(format!("field '{field}' names no memory level: '{name}'"));
            }
        }
        self.validate_kind()
    }

    fn validate_kind(&self) -> std::result::Result<(), String> {
        match self.device.kind {
            Kind::Systolic => {
                let s = self
                    .systolic
                    .as_ref()
                    .ok_or("a systolic device needs a [systolic] table")?;
                if s.rows == 0 || s.cols == 0 {
                    return Err("fields 'systolic.rows' and 'systolic.cols' must be >= 1".into());
                }
                if s.dataflow != "ws" && s.dataflow != "os" {
                    return Err(format!(
                        "field 'systolic.dataflow' must be ws or os, got '{}'",
                        s.dataflow
                    ));
                }
            }
            Kind::Fpga => {
                let f = self
                    .fpga
                    .as_ref()
                    .ok_or("an fpga device needs an [fpga] table")?;
                if f.dsp_count == 0
                    || f.onchip_bytes_per_cycle.is_nan()
                    || f.onchip_bytes_per_cycle <= 0.0
                {
                    return Err(
                        "fields 'fpga.dsp_count' and 'fpga.onchip_bytes_per_cycle' must be > 0"
                            .into(),
                    );
                }
            }
            Kind::Gpu => {
                let g = self
                    .gpu
                    .as_ref()
                    .ok_or("a gpu device needs a [gpu] table")?;
                if g.threads_for_full_occupancy == 0 {
                    return Err("field 'gpu.threads_for_full_occupancy' must be >= 1".into());
                }
            }
            Kind::Cpu | Kind::Mcu => {}
        }
        if let Some(h) = &self.host_model {
            let want: Vec<&str> = crate::host_nodes::NODE_FEATURES.to_vec();
            if h.features != want {
                return Err(format!(
                    "field 'host_model.features' must be [{}] (re-run `edgeopt hw calibrate`)",
                    want.join(", ")
                ));
            }
            for c in &h.kernels {
                if c.coef.len() != want.len() || c.coef.iter().any(|v| !v.is_finite() || *v < 0.0) {
                    return Err(format!(
                        "field 'host_model.kernels' ({}): coef must be {} non-negative numbers",
                        c.key,
                        want.len()
                    ));
                }
            }
        }
        Ok(())
    }
}
