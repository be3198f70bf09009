"""scale_roster.py: a county-sized roster for tests/bench/scale.sh, printed as JSON: one county,
TOWNS towns, VILLAGES villages per town, GRIDS grids per village (ids town-TT, vil-TT-VV,
grid-TT-VV-GG, Chinese names, coordinates), a grid worker per grid, a village mediator per
village, two town mediators per town (one a supervisor) and a county mediator.
Usage: python3 scale_roster.py TOWNS VILLAGES GRIDS"""
import json
import sys

towns, villages, grids = (int(a) for a in sys.argv[1:4])
org = [{"id": "county", "name": "县", "level": "county", "parent": None}]
med = [{"id": "m-county", "name": "县调解员", "role": "county_mediator", "org": "county",
        "categories": ["*"], "supervisor": True}]
for t in range(towns):
    tid = f"town-{t:02d}"
    org.append({"id": tid, "name": f"第{t}镇", "level": "town", "parent": "county"})
    med.append({"id": f"m-{tid}", "name": f"镇调解员{t}", "role": "town_mediator", "org": tid,
                "categories": ["*"], "supervisor": True})
    med.append({"id": f"m-{tid}-b", "name": f"镇调解员{t}乙", "role": "town_mediator",
                "org": tid, "categories": ["*"]})
    for v in range(villages):
        vid = f"vil-{t:02d}-{v:02d}"
        org.append({"id": vid, "name": f"第{t}镇第{v}村", "level": "village", "parent": tid})
        med.append({"id": f"m-{vid}", "name": f"村调解员{t}-{v}", "role": "village_mediator",
                    "org": vid, "categories": ["*"]})
        for g in range(grids):
            gid = f"grid-{t:02d}-{v:02d}-{g}"
            org.append({"id": gid, "name": f"第{t}镇第{v}村第{g}网格", "level": "grid",
                        "parent": vid, "latitude": 29.0 + t * 0.01 + g * 0.001,
                        "longitude": 120.0 + v * 0.01})
            med.append({"id": f"m-{gid}", "name": f"网格员{t}-{v}-{g}", "role": "grid_worker",
                        "org": gid, "categories": ["*"], "chat_user": f"m-{gid}"})
json.dump({"org": org, "mediators": med, "routes": []}, sys.stdout, ensure_ascii=False)
