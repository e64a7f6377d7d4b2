//! Tensors to and from `ndarray` arrays (feature `ndarray`, on for the tests).

use accelrt::{DType, Tensor};
use ndarray::{array, Array2, ArrayD, IxDyn};

#[test]
fn arrays_round_trip_through_tensors() {
    let a: Array2<f32> = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let t = Tensor::from(a.clone());
    assert_eq!((t.dtype(), t.shape()), (DType::F32, &[2, 3][..]));
    assert_eq!(t.to_array::<f32>().unwrap(), a.clone().into_dyn());
    // A transposed (non-contiguous) view is copied in logical order.
    let tt = Tensor::from_array(&a.t());
    assert_eq!(tt.as_slice::<f32>().unwrap(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    let ints = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1i64, 2, 3, 4]).unwrap();
    assert_eq!(Tensor::from(ints.clone()).to_array::<i64>().unwrap(), ints);
    assert!(t.to_array::<i64>().is_err(), "dtype is checked");
}
