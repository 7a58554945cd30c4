//! The interface between the executor and a lowered node.

use crate::Result;

/// A byte range a kernel reads or writes: a view into the session's arena or into a constant
/// tensor. Built by the executor, which guarantees the ranges of one step's inputs and outputs
/// do not overlap (the input a node computes in place over is handed over as empty).
#[derive(Clone, Copy, Debug)]
pub struct Buf {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a Buf is only dereferenced through `Io` while the session that owns the memory is
// borrowed mutably by `run`, one step at a time.
unsafe impl Send for Buf {}
// SAFETY: as above.
unsafe impl Sync for Buf {}

impl Buf {
    /// An absent buffer (omitted optional input, or the input aliased by an in-place output).
    pub const EMPTY: Buf = Buf {
        ptr: std::ptr::NonNull::<u64>::dangling().as_ptr() as *mut u8,
        len: 0,
    };

    /// A view of `len` bytes at `ptr`. The caller keeps the memory alive and unaliased while
    /// kernels run.
    pub(crate) fn new(ptr: *mut u8, len: usize) -> Buf {
        Buf { ptr, len }
    }

    /// Bytes in the view.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the view is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What a kernel sees while it runs: its inputs, outputs, scratch and thread count.
pub struct Io<'a> {
    pub(crate) inputs: &'a [Buf],
    pub(crate) outputs: &'a [Buf],
    /// Scratch of at least the kernel's `scratch_len` floats; contents unspecified.
    pub scratch: &'a mut [f32],
    /// Threads the kernel may use.
    pub threads: usize,
}

impl<'a> Io<'a> {
    /// A new view set; `inputs` and `outputs` must not overlap each other.
    ///
    /// # Safety
    /// Every buffer must be valid, suitably aligned for its element type, not aliased by any
    /// other live reference, and outputs must not overlap inputs or each other.
    pub unsafe fn new(
        inputs: &'a [Buf],
        outputs: &'a [Buf],
        scratch: &'a mut [f32],
        threads: usize,
    ) -> Io<'a> {
        Io {
            inputs,
            outputs,
            scratch,
            threads,
        }
    }

    /// Input `i` as floats (empty when absent).
    pub fn input(&self, i: usize) -> &'a [f32] {
        let b = self.inputs.get(i).copied().unwrap_or(Buf::EMPTY);
        // SAFETY: `Io::new`'s contract: valid, aligned and not written while this step runs.
        unsafe { std::slice::from_raw_parts(b.ptr as *const f32, b.len / 4) }
    }

    /// Input `i` as bytes (empty when absent).
    pub fn input_bytes(&self, i: usize) -> &'a [u8] {
        let b = self.inputs.get(i).copied().unwrap_or(Buf::EMPTY);
        // SAFETY: as for `input`.
        unsafe { std::slice::from_raw_parts(b.ptr as *const u8, b.len) }
    }

    /// Output `i` as floats.
    pub fn output(&mut self, i: usize) -> &mut [f32] {
        let b = self.outputs.get(i).copied().unwrap_or(Buf::EMPTY);
        // SAFETY: outputs overlap no input and no other output (`Io::new`'s contract), and
        // the `&mut self` borrow prevents two live views of the same output.
        unsafe { std::slice::from_raw_parts_mut(b.ptr as *mut f32, b.len / 4) }
    }

    /// Output `i` as bytes.
    pub fn output_bytes(&mut self, i: usize) -> &mut [u8] {
        let b = self.outputs.get(i).copied().unwrap_or(Buf::EMPTY);
        // SAFETY: as for `output`.
        unsafe { std::slice::from_raw_parts_mut(b.ptr, b.len) }
    }

    /// Output 0 and the scratch at once.
    pub fn output_and_scratch(&mut self) -> (&mut [f32], &mut [f32]) {
        let b = self.outputs.first().copied().unwrap_or(Buf::EMPTY);
        // SAFETY: as for `output`; the scratch is a separate allocation.
        let out = unsafe { std::slice::from_raw_parts_mut(b.ptr as *mut f32, b.len / 4) };
        (out, &mut *self.scratch)
    }
}

/// A node lowered to fast code. Shapes, constants and packed weights are fixed at lowering;
/// `run` only computes.
pub trait Kernel: Send {
    /// Short name for profiles, e.g. `conv2d.im2col`.
    fn name(&self) -> &'static str;

    /// Scratch floats `run` needs.
    fn scratch_len(&self) -> usize {
        0
    }

    /// Computes the outputs from the inputs. When the node was lowered with
    /// `LowerCtx::inplace = Some(k)`, input `k` is empty and its data is already in output 0.
    fn run(&mut self, io: &mut Io) -> Result<()>;
}
