//! The Open Inference Protocol's gRPC API (`inference.GRPCInferenceService`, Triton's names),
//! on tonic.
//!
//! Inputs come as `raw_input_contents` (one little-endian buffer per input, what
//! `tritonclient.grpc` sends) or as typed `contents`; outputs always go back as
//! `raw_output_contents`, as Triton does. Errors are gRPC statuses: NOT_FOUND (unknown model),
//! INVALID_ARGUMENT (malformed, wrong shape, datatype or name), UNAVAILABLE (queue full,
//! shutting down), DEADLINE_EXCEEDED (timed out in the queue), RESOURCE_EXHAUSTED (message
//! over the size limit), INTERNAL (the model failed).

use std::sync::Arc;

use accelrt::DType;
use bytes::{BufMut, BytesMut};
use tonic::{Request, Response, Status};

use crate::datatype::{from_wire, wire_name};
use crate::infer::{element_count, run_options, tensor_from_raw, InferRequest, Param};
use crate::proto::grpc_inference_service_server::GrpcInferenceService;
use crate::proto::infer_parameter::ParameterChoice;
use crate::proto::model_infer_request::InferInputTensor;
use crate::proto::model_infer_response::InferOutputTensor;
use crate::proto::model_metadata_response::TensorMetadata;
use crate::proto::*;
use crate::server::{wire_shape, Shared, EXTENSIONS, SERVER_NAME};
use crate::ServeError;

/// The gRPC service over the shared repository.
#[derive(Debug, Clone)]
pub struct Service {
    shared: Arc<Shared>,
}

impl Service {
    /// A service answering for `shared`'s models.
    pub fn new(shared: Arc<Shared>) -> Self {
        Service { shared }
    }
}

#[tonic::async_trait]
impl GrpcInferenceService for Service {
    async fn server_live(&self, _: Request<ServerLiveRequest>) -> Result<Response<ServerLiveResponse>, Status> {
        Ok(Response::new(ServerLiveResponse { live: true }))
    }

    async fn server_ready(&self, _: Request<ServerReadyRequest>) -> Result<Response<ServerReadyResponse>, Status> {
        Ok(Response::new(ServerReadyResponse {
            ready: self.shared.is_ready(),
        }))
    }

    async fn model_ready(&self, req: Request<ModelReadyRequest>) -> Result<Response<ModelReadyResponse>, Status> {
        let r = req.into_inner();
        self.shared.repository().get(&r.name, Some(&r.version))?;
        Ok(Response::new(ModelReadyResponse {
            ready: self.shared.is_ready(),
        }))
    }

    async fn server_metadata(
        &self,
        _: Request<ServerMetadataRequest>,
    ) -> Result<Response<ServerMetadataResponse>, Status> {
        Ok(Response::new(ServerMetadataResponse {
            name: SERVER_NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            extensions: EXTENSIONS.iter().map(|e| e.to_string()).collect(),
        }))
    }

    async fn model_metadata(
        &self,
        req: Request<ModelMetadataRequest>,
    ) -> Result<Response<ModelMetadataResponse>, Status> {
        let r = req.into_inner();
        let model = self.shared.repository().get(&r.name, Some(&r.version))?;
        let tensors = |specs: &[accelrt::TensorSpec]| {
            specs
                .iter()
                .map(|t| TensorMetadata {
                    name: t.name.clone(),
                    datatype: wire_name(t.dtype).into(),
                    shape: wire_shape(t),
                })
                .collect()
        };
        Ok(Response::new(ModelMetadataResponse {
            name: model.name().into(),
            versions: vec![model.version().into()],
            platform: "onnxruntime_onnx".into(),
            inputs: tensors(&model.spec().inputs),
            outputs: tensors(&model.spec().outputs),
        }))
    }

    async fn model_infer(&self, req: Request<ModelInferRequest>) -> Result<Response<ModelInferResponse>, Status> {
        let r = req.into_inner();
        let model = self.shared.repository().get(&r.model_name, Some(&r.model_version))?;
        let request = decode(r, model.priorities()).inspect_err(|e| model.counters.fail(e.failure_reason()))?;
        let resp = model.infer(request).await?;
        let mut outputs = Vec::with_capacity(resp.outputs.len());
        let mut raw = Vec::with_capacity(resp.outputs.len());
        for (name, t) in resp.outputs {
            outputs.push(InferOutputTensor {
                name,
                datatype: wire_name(t.dtype()).into(),
                shape: t.shape().iter().map(|&d| d as i64).collect(),
                ..Default::default()
            });
            raw.push(t.bytes().clone());
        }
        Ok(Response::new(ModelInferResponse {
            model_name: resp.model_name,
            model_version: resp.model_version,
            id: resp.id,
            parameters: Default::default(),
            outputs,
            raw_output_contents: raw,
        }))
    }
}

fn param(p: &InferParameter) -> Option<Param> {
    Some(match p.parameter_choice.as_ref()? {
        ParameterChoice::BoolParam(b) => Param::Bool(*b),
        ParameterChoice::Int64Param(i) => Param::Int(*i),
        ParameterChoice::Uint64Param(u) => i64::try_from(*u).map_or(Param::Double(*u as f64), Param::Int),
        ParameterChoice::DoubleParam(d) => Param::Double(*d),
        ParameterChoice::StringParam(s) => Param::Str(s.clone()),
    })
}

fn decode(r: ModelInferRequest, priorities: crate::infer::Priorities) -> Result<InferRequest, ServeError> {
    // Converted on the fly: no copy of the names.
    let params = r.parameters.iter().filter_map(|(k, v)| Some((k.as_str(), param(v)?)));
    let options = run_options(params, priorities)?;
    let raw = r.raw_input_contents;
    if !raw.is_empty() && raw.len() != r.inputs.len() {
        return Err(ServeError::invalid(format!(
            "expected raw_input_contents for all {} inputs or none, got {}",
            r.inputs.len(),
            raw.len()
        )));
    }
    let mut raw = raw.into_iter();
    let mut inputs = Vec::with_capacity(r.inputs.len());
    for input in r.inputs {
        let tensor = match raw.next() {
            Some(data) => {
                if input.contents.is_some() {
                    return Err(ServeError::invalid(format!(
                        "input \"{}\": expected either contents or raw_input_contents, got both",
                        input.name
                    )));
                }
                tensor_from_raw(&input.name, &input.datatype, &input.shape, data)?
            }
            None => typed(&input)?,
        };
        inputs.push((input.name, tensor));
    }
    Ok(InferRequest {
        id: r.id,
        inputs,
        outputs: r.outputs.into_iter().map(|o| o.name).collect(),
        options,
    })
}

/// An input from its typed `contents`, counted against the shape before it is converted.
fn typed(input: &InferInputTensor) -> Result<accelrt::Tensor, ServeError> {
    let name = &input.name;
    let dtype = from_wire(&input.datatype).map_err(|e| ServeError::invalid(format!("input \"{name}\": {e}")))?;
    let count = element_count(name, &input.shape)?;
    let empty = InferTensorContents::default();
    let c = input.contents.as_ref().unwrap_or(&empty);
    let mut out = BytesMut::new();
    let got = match dtype {
        DType::F32 => c.fp32_contents.len(),
        DType::F64 => c.fp64_contents.len(),
        DType::I64 => c.int64_contents.len(),
        DType::I32 | DType::I8 => c.int_contents.len(),
        DType::U8 => c.uint_contents.len(),
        DType::Bool => c.bool_contents.len(),
        _ => {
            return Err(ServeError::invalid(format!(
                "input \"{name}\": {} data must come in raw_input_contents",
                input.datatype
            )))
        }
    };
    if got != count {
        return Err(ServeError::invalid(format!(
            "input \"{name}\": expected {count} {} values in contents for shape {:?}, got {got}",
            input.datatype, input.shape
        )));
    }
    let range = |v: i64, lo: i64, hi: i64| {
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(ServeError::invalid(format!(
                "input \"{name}\": expected {} values, got {v}",
                input.datatype
            )))
        }
    };
    out.reserve(count * dtype.size());
    match dtype {
        DType::F32 => c.fp32_contents.iter().for_each(|v| out.put_f32_le(*v)),
        DType::F64 => c.fp64_contents.iter().for_each(|v| out.put_f64_le(*v)),
        DType::I64 => c.int64_contents.iter().for_each(|v| out.put_i64_le(*v)),
        DType::I32 => c.int_contents.iter().for_each(|v| out.put_i32_le(*v)),
        DType::I8 => {
            for v in &c.int_contents {
                out.put_i8(range(i64::from(*v), i8::MIN.into(), i8::MAX.into())? as i8);
            }
        }
        DType::U8 => {
            for v in &c.uint_contents {
                out.put_u8(range(i64::from(*v), 0, u8::MAX.into())? as u8);
            }
        }
        DType::Bool => c.bool_contents.iter().for_each(|v| out.put_u8(u8::from(*v))),
        _ => {}
    }
    tensor_from_raw(name, &input.datatype, &input.shape, out.freeze())
}
