

def test_an_archives_saved_report_may_name_a_source_only_by_its_own_fields():
    kept = {"entity": ATTRIBUTION, "group_by": "label", "measure": "sum", "field": "revenue",
            "filters": {"model": "first_touch"}}  # fmt: skip
    saved_reports.check_stored(kept, lambda entity: [])
    for bad in ({**kept, "group_by": "deal_id"}, {**kept, "filters": {"cf_region": "north"}},
                {**kept, "entity": "marketing.nothing"}):  # fmt: skip
        with pytest.raises(ValidationError):
            saved_reports.check_stored(bad, lambda entity: [])
