"""The screen in front of the matcher's full comparison (`model.Screen`): it may leave a person out only when
their comparison could be neither shown nor linked, so the outcome of a match is the same with it as without.

A block at national scale is hundreds of people sharing a date of birth; the screen is what keeps their
comparison affordable (bench/cases_match.py), and these properties are what make it safe.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cases.people import model

NAMES = ["William", "Bill", "Will", "Elizabeth", "Liz", "Beth", "Smith", "Smyth", "Smithe", "Jones", "Jonas",
         "Mohammed", "Muhammad", "Zoë", "Zoe", "O'Neill", "Oneill", "Okafor", "Nguyen", "Quennell", "Horton",
         "Ann", "Anne", "Lee", "Leigh", "Jo", "Sam", "Samuel", "Samantha", "Fordtonwell"]  # fmt: skip
POSTCODES = [None, "LS6 2AB", "LS6 2AD", "LS62AB", "ls6 2ab", "BD1 1AA", "WF3 9ZZ"]
NHS = [None, "9434765919", "9434765870"]
UPNS = [None, "A801000000001", "H801000000012"]
BORN = date(2012, 3, 7)
DATES = [None, BORN, date(2012, 7, 3), date(2012, 3, 8), date(2013, 3, 7), BORN + timedelta(days=400)]
THRESHOLDS = [model.Thresholds(0.999, 0.1), model.Thresholds(0.9, 0.5), model.Thresholds(0.2, 0.6)]

records = st.builds(
    model.Record,
    st.sampled_from(NAMES),
    st.sampled_from(NAMES),
    st.sampled_from(DATES),
    st.sampled_from(POSTCODES),
    st.sampled_from(NHS),
    st.sampled_from(UPNS),
)


@settings(max_examples=3000, deadline=None)
@given(query=records, person=records, thresholds=st.sampled_from(THRESHOLDS))
def test_a_person_screened_out_could_be_neither_shown_nor_linked(
    query: model.Record, person: model.Record, thresholds: model.Thresholds
) -> None:
    trained = model.load_model()
    comparison = trained.compare(query, person)
    if not model.Screen(trained, query, thresholds).may_matter(person):
        assert comparison.probability < min(thresholds.link, thresholds.review)
        assert comparison.conflict is None


@settings(max_examples=300, deadline=None)
@given(query=records, people=st.lists(records, min_size=1, max_size=12), thresholds=st.sampled_from(THRESHOLDS))
def test_the_outcome_of_a_block_is_the_same_with_the_screen(
    query: model.Record, people: list[model.Record], thresholds: model.Thresholds
) -> None:
    trained = model.load_model()
    everyone = [trained.compare(query, p) for p in people]
    decision, shown = model.outcome(everyone, thresholds)
    screen = model.Screen(trained, query, thresholds)
    kept = [i for i, p in enumerate(people) if screen.may_matter(p)]
    screened_decision, screened_shown = model.outcome([everyone[i] for i in kept], thresholds)
    assert screened_decision == decision
    assert [kept[i] for i in screened_shown] == shown


def test_strangers_sharing_a_date_of_birth_are_screened_out() -> None:
    """The point of the screen: people who share only the date of birth are not compared in full."""
    trained = model.load_model()
    query = model.Record("William", "Smith", BORN, "LS6 2AB")
    screen = model.Screen(trained, query, model.Thresholds(0.999, 0.1))
    strangers = [model.Record(g, f, BORN, "WF3 9ZZ") for g in ("Aisha", "Oliver", "Priya") for f in ("Khan", "Okafor")]
    assert not any(screen.may_matter(p) for p in strangers)
    assert all(trained.compare(query, p).probability < 0.1 for p in strangers)
    # a misspelt surname, a short form, swapped names, the same postcode: each may matter
    for near in (
        model.Record("William", "Smyth", BORN, None),
        model.Record("Bill", "Smith", BORN, "WF3 9ZZ"),
        model.Record("Smith", "William", BORN, None),
        model.Record("Aisha", "Khan", BORN, "LS6 2AB"),
    ):
        assert screen.may_matter(near), near
