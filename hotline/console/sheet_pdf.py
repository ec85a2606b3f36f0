"""The dispatch sheet (交办单) as a PDF, drawn with reportlab.

Chinese needs no font file on the server: reportlab ships the metrics of Adobe's CID font
STSong-Light (Adobe-GB1), and a PDF reader supplies the glyphs from its own Chinese font, as
every reader in China does. The text stays text (searchable, copyable, checked by the tests).
"""

import io
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

if TYPE_CHECKING:
    from hotline.console.dispatch_sheet import Sheet

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

TITLE = ParagraphStyle("title", fontName=FONT, fontSize=18, leading=24, alignment=TA_CENTER)
SUBTITLE = ParagraphStyle("subtitle", fontName=FONT, fontSize=10, leading=14, alignment=TA_CENTER,
                          textColor=colors.HexColor("#444444"))
HEAD = ParagraphStyle("head", fontName=FONT, fontSize=10.5, leading=14, textColor=colors.HexColor("#333333"))
BODY = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=15, wordWrap="CJK")
SMALL = ParagraphStyle("small", fontName=FONT, fontSize=8.5, leading=12, textColor=colors.HexColor("#555555"))
LABEL_WIDTH = 28 * mm
_LINES = [
    ("GRID", (0, 0), (-1, -1), 0.6, colors.HexColor("#555555")),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), 5), ("RIGHTPADDING", (0, 0), (-1, -1), 5),
]
SHADE = colors.HexColor("#f0f0f0")
GRID = TableStyle([*_LINES, ("BACKGROUND", (0, 0), (0, -1), SHADE)])     # labels in the first column
LIST = TableStyle([*_LINES, ("BACKGROUND", (0, 0), (-1, 0), SHADE)])     # a header row
PLAIN = TableStyle(_LINES)


def _p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(text or "—").replace("\n", "<br/>"), style)


def _rows(rows: list[tuple[str, str]]) -> list[list[Flowable]]:
    return [[_p(label, HEAD), _p(value)] for label, value in rows]


def render_pdf(sheet: "Sheet") -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=16 * mm,
                            title=f"交办单 {sheet.number}", author="12345 热线")
    width = doc.width
    rows = [("工单编号", sheet.number), ("标题", sheet.title), *sheet.facts,
            ("来电人", "；".join(f"{label}：{value}" for label, value in sheet.caller)
             + ("（已脱敏）" if sheet.masked else "")),
            ("事发地点", sheet.location), ("诉求内容", sheet.request),
            ("主办单位", sheet.lead_unit), ("协办单位", "、".join(sheet.co_units) or "—"),
            ("交办意见", "\n".join(sheet.instructions) or "—")]
    facts = Table(_rows(rows), colWidths=[LABEL_WIDTH, width - LABEL_WIDTH])
    facts.setStyle(GRID)
    story: list[Flowable] = [_p("12345 政务服务便民热线", SUBTITLE), _p("工单交办单", TITLE),
                             Spacer(0, 6 * mm), facts, Spacer(0, 5 * mm), _p("时限要求", HEAD)]
    deadlines = [[_p("时限", HEAD), _p("到期时间", HEAD), _p("状态", HEAD)]]
    deadlines += [[_p(kind), _p(due), _p(state)] for kind, due, state in sheet.deadlines] or \
        [[_p("尚未开始计时"), _p(""), _p("")]]
    clocks = Table(deadlines, colWidths=[width * 0.3, width * 0.4, width * 0.3], repeatRows=1)
    clocks.setStyle(LIST)
    story += [Spacer(0, 2 * mm), clocks, Spacer(0, 5 * mm), _p(f"附件（{len(sheet.attachments)}）", HEAD)]
    if sheet.attachments:
        files = Table([[_p(f"{number}. {name}"), _p(size)]
                       for number, (name, size) in enumerate(sheet.attachments, start=1)],
                      colWidths=[width * 0.8, width * 0.2])
        files.setStyle(PLAIN)
        story += [Spacer(0, 2 * mm), files]
    else:
        story.append(_p("无"))
    story += [Spacer(0, 8 * mm),
              _p(f"打印人：{sheet.printed_by}　　打印时间：{sheet.printed_at}　　"
                 "签收人：__________　　签收时间：__________", SMALL)]
    doc.build(story)
    return out.getvalue()
