//! Name rules that need exact construction (RF1).

use super::case;
use crate::case::{Case, Ctx, Failure, Level::*};
use crate::chat1::wire::Wire;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "RF1-04",
            "RF1",
            Must,
            "a name of 32 characters is accepted and one of 33 refused with invalid-name",
            length_limit,
        ),
        case(
            "RF1-05",
            "RF1",
            Must,
            "names with a tab or a control character are refused with invalid-name",
            control_chars,
        ),
        case(
            "RF1-07",
            "RF1",
            Must,
            "a name with non-ASCII letters is accepted, its length counted in characters",
            non_ascii,
        ),
    ]
}

/// Pads a unique base name to exactly `len` characters with `pad`.
fn padded(base: &str, len: usize, pad: char) -> String {
    let mut name: String = base.chars().take(len).collect();
    while name.chars().count() < len {
        name.push(pad);
    }
    name
}

fn length_limit(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut w = Wire::hello(ctx, "longname")?;
    let base = w.name.clone();
    w.send(&padded(&base, 33, 'x'))?;
    w.expect("ERR invalid-name *")?;
    let exact = padded(&base, 32, 'x');
    w.send(&exact)?;
    w.expect(&format!("WELCOME {exact} {}", w.local_addr()))?;
    Ok(())
}

fn control_chars(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut w = Wire::hello(ctx, "ctrl")?;
    let name = w.name.clone();
    w.send(&format!("{name}\tx"))?;
    w.expect("ERR invalid-name *")?;
    w.send(&format!("{name}\u{7}"))?;
    w.expect("ERR invalid-name *")?;
    w.send(&format!("{name}\u{1b}[31m"))?;
    w.expect("ERR invalid-name *")?;
    w.register()
}

fn non_ascii(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut w = Wire::hello(ctx, "nonascii")?;
    // 32 characters but more than 32 bytes: a byte-counting server would refuse it.
    let name = padded(&format!("joão{}", w.name), 32, 'ç');
    w.send(&name)?;
    w.expect(&format!("WELCOME {name} {}", w.local_addr()))?;
    Ok(())
}
