"""The console's search: one box in the header, results with the matching words marked."""


def test_the_header_box_finds_a_ticket_by_words_and_marks_them(browser, api):
    water = api.create(subject="停水", content="幸福小区从昨天开始停水，老人孩子没水喝")
    api.create(subject="路灯不亮", content="河畔社区路灯坏了一个月")
    seat = browser("seat1")
    home = seat.html("/console/tickets")
    assert 'role="search"' in home and 'name="q"' in home
    page = seat.html("/console/tickets?q=幸福小区停水")
    assert water["number"] in page and "路灯" not in page
    assert "<mark>幸福小区</mark>" in page and "<mark>停水</mark>" in page
    assert '<option value="" selected>最相关（搜索默认）</option>' in page      # the order it is in


def test_nothing_found_says_so(browser, api):
    api.create()
    page = browser("seat1").html("/console/tickets?q=公积金")
    assert "没有找到与“公积金”相关的工单" in page


def test_a_co_unit_sees_a_found_childs_phone_masked_and_cannot_find_it_by_digits(browser, api):
    api.dispatched(unit="gulou", co_units=["yunlong"], content="孩子被同学欺负",
                   caller={"phone": "+8613655558888", "name": "小明", "is_minor": True, "age": 12})
    co_unit = browser("handler-yunlong")
    page = co_unit.html("/console/tickets?q=欺负")
    assert "<mark>欺负</mark>" in page and "5555" not in page and "小明" not in page
    assert "孩子被同学" in page
    assert "没有找到" in co_unit.html("/console/tickets?q=5555")


def test_the_date_range_narrows_the_list(browser, api):
    ticket = api.create()
    seat = browser("seat1")
    day = ticket["created_at"][:10]
    assert ticket["number"] in seat.html(f"/console/tickets?created_from={day}&created_to={day}")
    assert ticket["number"] not in seat.html("/console/tickets?created_to=2026-01-01")


def test_the_console_says_how_many_at_least(app, api, browser, monkeypatch):
    for n in range(5):
        api.create(content=f"停水第{n}天")
    monkeypatch.setitem(app.config, "SEARCH_COUNT_CAP", 3)
    assert "共 3+ 条" in browser("supervisor1").html("/console/tickets?q=停水")


def test_a_long_list_says_at_least_and_pages_on_past_the_cap(app, api, browser, monkeypatch):
    """Past the count's cap the pager says "at least" of the pages as of the rows (2+ pages, not
    2 when there are 3)."""
    for n in range(5):
        api.create(content=f"第{n}张工单")
    monkeypatch.setitem(app.config, "LIST_COUNT_CAP", 3)
    monkeypatch.setitem(app.config, "CONSOLE_PER_PAGE", 2)
    supervisor = browser("supervisor1")
    first = supervisor.html("/console/tickets")
    assert "第 1 / 2+ 页，共 3+ 条" in first and "下一页" in first
    second = supervisor.html("/console/tickets?page=2")
    assert "第 2 / 3+ 页，共 4+ 条" in second and "下一页" in second     # counted to its own end
    last = supervisor.html("/console/tickets?page=3")
    assert "第 3 / 3 页，共 5 条" in last and "下一页" not in last
