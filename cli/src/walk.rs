//! `jobpack demo --walk`: one job through its whole lifecycle, every message printed.
//!
//! The walk uses the same lifecycle the phone uses and checks each message it prints against
//! the OpenAPI document, so the demo fails loudly if the model and the contract drift apart.

use std::process::ExitCode;

use jobpack_core::codes::Catalogue;
use jobpack_core::lifecycle::{Action, Job, Warning};
use jobpack_core::protocol::{
    CreateJobAnswer, EngineerDetails, InboundMessage, Location, MessageKind, OntDevice,
    OutboundRequest, ProviderJobId, QuestionAnswer, RpcId, Source, StrictTimestamp, Timestamp,
    parse_inbound,
};
use jobpack_spec::Spec;
use serde_json::Value;

const JOB_PACK: &str =
    include_str!("../../spec/examples/valid/CreateJobEnvelope/seed-timestamp-form.json");
const PROVISIONING_RETRY: &str =
    include_str!("../../spec/examples/valid/ProvisioningEnvelope/status-4.json");
const PROVISIONING_OK: &str =
    include_str!("../../spec/examples/valid/ProvisioningEnvelope/status-1.json");

/// Prints one job's messages, each checked against the contract.
pub fn run() -> ExitCode {
    match walk() {
        Ok(count) => {
            println!(
                "\n{count} messages printed, every one valid against spec/partner-installation.openapi.yaml"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Printer {
    spec: Spec,
    printed: usize,
}

impl Printer {
    fn show(&mut self, title: &str, value: &Value) -> Result<(), String> {
        let kind = MessageKind::classify(value).ok_or("unrecognised message")?;
        let violations = self
            .spec
            .validate(kind.schema_name(), value)
            .map_err(|e| e.to_string())?;
        println!("\n── {title}  [{}]", kind.describe());
        println!(
            "{}",
            serde_json::to_string_pretty(value).map_err(|e| e.to_string())?
        );
        if let Some(v) = violations.first() {
            return Err(format!("{title}: {v}"));
        }
        self.printed += 1;
        Ok(())
    }

    fn warn(&self, warnings: &[Warning]) {
        for w in warnings {
            println!("   ⚠ {w}");
        }
    }
}

fn at(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_lenient(text).map_err(|e| e.to_string())
}

fn walk() -> Result<usize, String> {
    let catalogue = Catalogue::embedded();
    let mut p = Printer {
        spec: Spec::load().map_err(|e| e.to_string())?,
        printed: 0,
    };
    let mut next_id = 0u64;
    let mut emit = |p: &mut Printer, title: &str, call| -> Result<(), String> {
        next_id += 1;
        let request = OutboundRequest {
            id: RpcId::new(next_id).map_err(|e| e.to_string())?,
            call,
        };
        p.show(
            title,
            &serde_json::to_value(&request).map_err(|e| e.to_string())?,
        )
    };

    // CityFibre sends the job pack; the partner answers with its own id.
    let envelope = parse_inbound(JOB_PACK.as_bytes()).map_err(|e| e.to_string())?;
    p.show(
        "CityFibre sends createJob",
        &serde_json::to_value(&envelope).map_err(|e| e.to_string())?,
    )?;
    let InboundMessage::CreateJob(pack) = envelope.message else {
        return Err("the demo job pack is not a createJob".into());
    };
    let provider_job_id = ProviderJobId::new("JP-000123").map_err(|e| e.to_string())?;
    let answer = CreateJobAnswer {
        id: envelope.id,
        job_ref: envelope.job_ref.clone(),
        provider_job_id: provider_job_id.clone(),
    };
    p.show(
        "partner answers with its providerJobId",
        &serde_json::to_value(&answer).map_err(|e| e.to_string())?,
    )?;
    let mut job = Job::received(envelope.job_ref, provider_job_id, *pack);
    p.warn(&job.warnings(&catalogue));

    let location = |lat, lon, acc| Location::new(lat, lon, acc).map_err(|e| e.to_string());
    let steps: Vec<(&str, &str, Action)> = vec![
        (
            "engineer accepts: notifyJob with engineer details",
            "2026-11-30T16:20:00+00:00",
            Action::Accept {
                engineer: EngineerDetails {
                    engineer_id: "E042".into(),
                    name: "Sam Splicer".into(),
                    phone: "+44 7700 900123".into(),
                    company: Some("Jobpack Installs Ltd".into()),
                },
            },
        ),
        (
            "engineer sets off: notifyJob en route",
            "2026-12-01T07:41:12+00:00",
            Action::StartTravel {
                location: location(53.8321, -1.6012, 18.0)?,
            },
        ),
        (
            "engineer arrives: notifyJob on site",
            "2026-12-01T08:02:40+00:00",
            Action::Arrive {
                location: location(53.7921, -1.5497, 6.0)?,
            },
        ),
        (
            "engineer scans the ONT label: notifyJob ONT scanned",
            "2026-12-01T08:47:05+00:00",
            Action::ScanOnt {
                ont: OntDevice::new("ALCLB443689D", "YP2244017834").map_err(|e| e.to_string())?,
            },
        ),
    ];
    for (title, when, action) in steps {
        let outcome = job
            .apply(action, at(when)?, &catalogue)
            .map_err(|e| e.to_string())?;
        if let Some(call) = outcome.message {
            emit(&mut p, title, call)?;
        }
        p.warn(&outcome.warnings);
        println!("   state: {}", outcome.state);
    }

    for (title, text) in [
        ("CityFibre: provisioning delayed", PROVISIONING_RETRY),
        ("CityFibre: ONT provisioned", PROVISIONING_OK),
    ] {
        let envelope = parse_inbound(text.as_bytes()).map_err(|e| e.to_string())?;
        p.show(
            title,
            &serde_json::to_value(&envelope).map_err(|e| e.to_string())?,
        )?;
        let InboundMessage::Provisioning(notice) = &envelope.message else {
            return Err("not a provisioning notice".into());
        };
        let outcome = job
            .apply(
                Action::ProvisioningResult {
                    status: notice.ont_provisioning.status_id,
                },
                envelope.sent,
                &catalogue,
            )
            .map_err(|e| e.to_string())?;
        println!("   state: {}", outcome.state);
    }

    let answered = at("2026-12-01T09:05:31+00:00")?;
    let sponge = QuestionAnswer {
        question: "Did Sponge Pass?".into(),
        question_code: "1100".into(),
        answer: "Yes".into(),
        response_received: StrictTimestamp(answered),
        source: Source::NotifyJob,
        files: vec![],
    };
    let outcome = job
        .apply(
            Action::Answer {
                answers: vec![sponge.clone()],
            },
            answered,
            &catalogue,
        )
        .map_err(|e| e.to_string())?;
    if let Some(call) = outcome.message {
        emit(&mut p, "engineer answers during the visit: notifyJob", call)?;
    }

    let closed = at("2026-12-01T09:20:00+00:00")?;
    let outcome = job
        .apply(
            Action::Close {
                closure_code: "SP".into(),
                secondary_code: None,
                description: String::new(),
                answers: vec![QuestionAnswer {
                    source: Source::CloseJob,
                    ..sponge
                }],
            },
            closed,
            &catalogue,
        )
        .map_err(|e| e.to_string())?;
    if let Some(call) = outcome.message {
        emit(&mut p, "engineer closes the job: closeJob SP", call)?;
    }
    println!("   state: {}", outcome.state);
    Ok(p.printed)
}
