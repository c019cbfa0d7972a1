package conformance

// tests/authorization.mjs: storing responses to requests with Authorization.

func authorizationCases() []Case {
	authStored := func(id, cc string) Case {
		return Case{
			ID: id, Kind: Optional, DependsOn: deps("other-authorization"),
			Requests: reqs(
				Req{
					RequestHeaders:         hdrs(H("Authorization", "FOO")),
					ExpectedRequestHeaders: reqExps(ReqEq("Authorization", "FOO")),
					ResponseHeaders:        hdrs(H("Cache-Control", cc), D("Date", 0)),
					PauseAfter:             true, Setup: true,
				},
				Req{ExpectedType: "cached"},
			),
		}
	}
	return []Case{
		{
			ID: "other-authorization", DependsOn: deps("freshness-max-age"),
			Requests: reqs(
				fresh(Req{
					RequestHeaders:         hdrs(H("Authorization", "FOO")),
					ExpectedRequestHeaders: reqExps(ReqEq("Authorization", "FOO")),
				}),
				Req{ExpectedType: "not_cached"},
			),
		},
		authStored("other-authorization-public", "max-age=3600, public"),
		authStored("other-authorization-must-revalidate", "max-age=3600, must-revalidate"),
		authStored("other-authorization-smaxage", "s-maxage=3600"),
	}
}
