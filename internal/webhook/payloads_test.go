package webhook

// Payloads in their documented shapes, trimmed to realistic size.

const dockerHubPush = `{
  "callback_url": "https://registry.hub.docker.com/u/acme/guestbook/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/",
  "push_data": {"pushed_at": 1417566161, "pusher": "trustedbuilder", "tag": "v1.2.3"},
  "repository": {
    "comment_count": 0, "date_created": 1417494799, "description": "", "is_official": false,
    "is_private": true, "is_trusted": true, "name": "guestbook", "namespace": "acme",
    "owner": "acme", "repo_name": "acme/guestbook",
    "repo_url": "https://registry.hub.docker.com/u/acme/guestbook/", "star_count": 0, "status": "Active"
  }
}`

const ghcrPackage = `{
  "action": "published",
  "package": {
    "id": 123, "name": "guestbook", "namespace": "acme", "description": "",
    "ecosystem": "CONTAINER", "package_type": "CONTAINER",
    "html_url": "https://github.com/orgs/acme/packages/container/package/guestbook",
    "owner": {"login": "acme", "type": "Organization"},
    "package_version": {
      "id": 456, "version": "sha256:2f8b0b6a1ed4e36fc3c5ab1a0d6e5f8e0a1b4e4c46b0c4ea5d8f0a4b9d3f2a1c",
      "container_metadata": {"tag": {"name": "v1.2.3", "digest": "sha256:2f8b0b6a1ed4e36fc3c5ab1a0d6e5f8e0a1b4e4c46b0c4ea5d8f0a4b9d3f2a1c"}},
      "package_url": "ghcr.io/acme/guestbook:v1.2.3"
    },
    "registry": {"about_url": "https://docs.github.com/packages", "name": "GitHub CONTAINER registry", "type": "CONTAINER", "url": "https://ghcr.io/acme", "vendor": "GitHub Inc"}
  },
  "repository": {"full_name": "acme/guestbook"},
  "sender": {"login": "octocat"}
}`

const ghcrNpm = `{"action": "published", "package": {"name": "lib", "package_type": "npm", "owner": {"login": "acme"}}}`

const harborPush = `{
  "type": "PUSH_ARTIFACT", "occur_at": 1680501893, "operator": "admin",
  "event_data": {
    "resources": [{"digest": "sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4", "tag": "v1.2.3", "resource_url": "harbor.example.com/acme/guestbook:v1.2.3"}],
    "repository": {"date_created": 1680501893, "name": "guestbook", "namespace": "acme", "repo_full_name": "acme/guestbook", "repo_type": "private"}
  }
}`

const harborPull = `{"type": "PULL_ARTIFACT", "event_data": {"resources": [{"resource_url": "harbor.example.com/acme/guestbook:v1"}]}}`

const quayPush = `{
  "name": "guestbook", "repository": "acme/guestbook", "namespace": "acme",
  "docker_url": "quay.io/acme/guestbook", "homepage": "https://quay.io/repository/acme/guestbook",
  "updated_tags": ["v1.2.3"]
}`

const quayBuild = `{"build_id": "296ec063", "docker_url": "quay.io/acme/guestbook", "repository": "acme/guestbook", "docker_tags": ["latest"]}`

const distributionPush = `{"events": [
  {"id": "320678d8-ca14-430f-8bb6-4ca139cd83f7", "timestamp": "2016-03-09T14:44:26.402973972-08:00", "action": "pull",
   "target": {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": "sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf", "repository": "acme/other", "url": "http://registry.example.com:5000/v2/acme/other/manifests/sha256:fea8"},
   "request": {"id": "6df24a34-0959-4923-81ca-14f09767db19", "addr": "192.168.64.11:42961", "host": "registry.example.com:5000", "method": "GET"}},
  {"id": "asdf-asdf-asdf-asdf-2", "timestamp": "2016-03-09T14:44:26.402973972-08:00", "action": "push",
   "target": {"mediaType": "application/octet-stream", "size": 100, "digest": "sha256:aaaa", "repository": "acme/blobonly", "url": "http://registry.example.com:5000/v2/acme/blobonly/blobs/sha256:aaaa"},
   "request": {"host": "registry.example.com:5000", "method": "PUT"}},
  {"id": "asdf-asdf-asdf-asdf-3", "timestamp": "2016-03-09T14:44:26.402973972-08:00", "action": "push",
   "target": {"mediaType": "application/vnd.oci.image.index.v1+json", "size": 708, "digest": "sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf", "length": 708,
              "repository": "acme/guestbook", "url": "http://registry.example.com:5000/v2/acme/guestbook/manifests/sha256:fea8", "tag": "v1.2.3"},
   "request": {"id": "6df24a34-0959-4923-81ca-14f09767db19", "addr": "192.168.64.11:42961", "host": "registry.example.com:5000", "method": "PUT", "useragent": "docker/1.11"},
   "actor": {}, "source": {"addr": "xtal.local:5000", "instanceID": "a53db899-3b4b-4a62-a067-8dd013beaca4"}}
]}`

const githubPush = `{
  "ref": "refs/heads/main",
  "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
  "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
  "created": false, "deleted": false, "forced": false,
  "repository": {
    "id": 17273051, "name": "guestbook-config", "full_name": "acme/guestbook-config",
    "html_url": "https://github.com/acme/guestbook-config",
    "clone_url": "https://github.com/acme/guestbook-config.git",
    "ssh_url": "git@github.com:acme/guestbook-config.git",
    "default_branch": "main"
  },
  "pusher": {"name": "octocat"},
  "head_commit": {"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "message": "bump"}
}`

const githubTagPush = `{"ref": "refs/tags/v1", "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "repository": {"html_url": "https://github.com/acme/guestbook-config"}}`

const githubDelete = `{"ref": "refs/heads/old", "after": "0000000000000000000000000000000000000000", "deleted": true, "repository": {"html_url": "https://github.com/acme/guestbook-config"}}`

const gitlabPush = `{
  "object_kind": "push", "event_name": "push",
  "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
  "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  "ref": "refs/heads/main", "ref_protected": true,
  "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  "user_username": "jsmith",
  "project_id": 15,
  "project": {
    "id": 15, "name": "guestbook-config",
    "web_url": "https://gitlab.example.com/acme/guestbook-config",
    "git_ssh_url": "git@gitlab.example.com:acme/guestbook-config.git",
    "git_http_url": "https://gitlab.example.com/acme/guestbook-config.git",
    "namespace": "acme", "path_with_namespace": "acme/guestbook-config", "default_branch": "main"
  },
  "repository": {"name": "guestbook-config", "url": "git@gitlab.example.com:acme/guestbook-config.git", "homepage": "https://gitlab.example.com/acme/guestbook-config"},
  "total_commits_count": 1
}`

const giteaPush = `{
  "ref": "refs/heads/develop",
  "before": "28e1879d029cb852e4844d9c718537df08844e03",
  "after": "bffeb74224043ba2feb48d137756c8a9331c449a",
  "compare_url": "https://gitea.example.com/acme/guestbook-config/compare/28e1879d029cb852e4844d9c718537df08844e03...bffeb74224043ba2feb48d137756c8a9331c449a",
  "commits": [{"id": "bffeb74224043ba2feb48d137756c8a9331c449a", "message": "Webhooks Yay!"}],
  "repository": {
    "id": 140, "name": "guestbook-config", "full_name": "acme/guestbook-config",
    "html_url": "https://gitea.example.com/acme/guestbook-config",
    "ssh_url": "ssh://git@gitea.example.com:2222/acme/guestbook-config.git",
    "clone_url": "https://gitea.example.com/acme/guestbook-config.git"
  },
  "pusher": {"login": "gitea"}
}`

const bitbucketCloudPush = `{
  "actor": {"display_name": "Jane"},
  "repository": {
    "type": "repository", "full_name": "acme/guestbook-config", "name": "guestbook-config",
    "links": {"html": {"href": "https://bitbucket.org/acme/guestbook-config"}, "self": {"href": "https://api.bitbucket.org/2.0/repositories/acme/guestbook-config"}}
  },
  "push": {"changes": [
    {"new": {"type": "branch", "name": "main", "target": {"hash": "709d658dc5b6d6afcd46049c2f332ee3f515a67d"}},
     "old": {"type": "branch", "name": "main", "target": {"hash": "1e65c05c1d5171631d92438a13901ca7dae9618c"}},
     "created": false, "forced": false, "closed": false},
    {"new": null, "old": {"type": "branch", "name": "gone"}, "closed": true},
    {"new": {"type": "tag", "name": "v1"}, "old": null, "created": true}
  ]}
}`

const bitbucketServerPush = `{
  "eventKey": "repo:refs_changed", "date": "2017-09-19T09:58:11+1000",
  "actor": {"name": "admin"},
  "repository": {
    "slug": "guestbook-config", "name": "guestbook-config", "project": {"key": "ACME"},
    "links": {
      "clone": [{"href": "ssh://git@bitbucket.example.com:7999/acme/guestbook-config.git", "name": "ssh"},
                {"href": "https://bitbucket.example.com/scm/acme/guestbook-config.git", "name": "http"}],
      "self": [{"href": "https://bitbucket.example.com/projects/ACME/repos/guestbook-config/browse"}]
    }
  },
  "changes": [
    {"ref": {"id": "refs/heads/release", "displayId": "release", "type": "BRANCH"}, "refId": "refs/heads/release",
     "fromHash": "ecddabb624f6f5ba43816f5926e580a5f680a932", "toHash": "178864a7d521b6f5e720b386b2c2b0ef8563e0dc", "type": "UPDATE"},
    {"ref": {"id": "refs/heads/old", "displayId": "old", "type": "BRANCH"}, "type": "DELETE"}
  ]
}`
