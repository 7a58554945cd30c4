//! math ops: element-wise arithmetic, comparisons and logic (table-driven where the ops are the
//! same function), plus Clip, CumSum/CumProd, Det and Einsum.

use crate::registry::Registry;

pub mod binary;
pub mod bit_shift;
pub mod bitwise;
pub mod bitwise_not;
pub mod clip;
pub mod common;
pub mod compare;
pub mod cum_prod;
pub mod cum_sum;
pub mod det;
pub mod einsum;
pub mod einsum_equation;
pub mod is_inf;
pub mod is_nan;
pub mod logical;
pub mod modulo;
pub mod not;
pub mod pow;
pub mod scalar;
pub mod unary;
pub mod variadic;
pub mod where_op;

pub fn register(r: &mut Registry) {
    unary::register(r);
    binary::register(r);
    compare::register(r);
    logical::register(r);
    bitwise::register(r);
    variadic::register(r);
    r.register("", "Not", not::build);
    r.register("", "BitwiseNot", bitwise_not::build);
    r.register("", "Pow", pow::build);
    r.register("", "Mod", modulo::build);
    r.register("", "BitShift", bit_shift::build);
    r.register("", "IsNaN", is_nan::build);
    r.register("", "IsInf", is_inf::build);
    r.register("", "Where", where_op::build);
    r.register("", "Clip", clip::build);
    r.register("", "CumSum", cum_sum::build);
    r.register("", "CumProd", cum_prod::build);
    r.register("", "Det", det::build);
    r.register("", "Einsum", einsum::build);
}
