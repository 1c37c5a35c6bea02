use vitalsign::LabelValue;

#[derive(LabelValue)]
#[label(rename_all = "kebab-case")]
enum Outcome {
    CardDeclined,
    #[label(rename = "ok")]
    Paid = 7,
}

#[derive(LabelValue)]
enum One {
    Only,
}

fn main() {
    assert_eq!(Outcome::Paid.index(), 1);
    assert_eq!(Outcome::CardDeclined.as_str(), "card-declined");
    assert_eq!(<One as LabelValue>::CARDINALITY, 1);
}
