"""Saved views (issue 21): each user's named list filters, words and sort."""


def test_a_user_saves_a_view_and_the_list_shows_what_it_holds(api):
    water = api.create(content="幸福小区停水了")
    api.act(water["id"], "submit", "seat1")
    api.create(content="路灯不亮")                                # another matter
    other = api.create(content="又停水了")                         # still in intake
    view = api.post("/api/v1/views", "dispatcher1", {
        "name": "待派单的停水", "filters": {"state": ["pending_dispatch"], "q": "停水", "sort": "newest"}},
        expect=201).json
    assert view["query"] == "state=pending_dispatch&q=%E5%81%9C%E6%B0%B4&sort=newest"
    listed = api.get(f"/api/v1/tickets?view={view['id']}", "dispatcher1").json
    assert [t["id"] for t in listed] == [water["id"]] and other["id"] not in [t["id"] for t in listed]
    assert [v["name"] for v in api.get("/api/v1/views", "dispatcher1").json] == ["待派单的停水"]


def test_views_are_their_owners_alone(api):
    view = api.post("/api/v1/views", "dispatcher1", {"name": "超期", "filters": {"overdue": True}},
                    expect=201).json
    assert api.get("/api/v1/views", "supervisor1").json == []
    api.get(f"/api/v1/tickets?view={view['id']}", "supervisor1", expect=404)
    api.client.delete(f"/api/v1/views/{view['id']}", headers=api.headers("supervisor1"))
    assert len(api.get("/api/v1/views", "dispatcher1").json) == 1
    gone = api.client.delete(f"/api/v1/views/{view['id']}", headers=api.headers("dispatcher1"))
    assert gone.status_code == 204 and api.get("/api/v1/views", "dispatcher1").json == []


def test_a_view_with_a_bad_filter_is_refused_naming_it_and_the_same_name_is_updated(api):
    bad = api.post("/api/v1/views", "seat1", {"name": "坏的", "filters": {"state": ["nowhere"]}}, expect=422)
    assert "filters" in bad.json["errors"]
    first = api.post("/api/v1/views", "seat1", {"name": "我的", "filters": {"desk": "general"}},
                     expect=201).json
    again = api.post("/api/v1/views", "seat1", {"name": "我的", "filters": {"desk": "children"}},
                     expect=201).json
    assert again["id"] == first["id"] and again["filters"] == {"desk": "children"}
