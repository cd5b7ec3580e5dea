import Foundation
import ShelfTagRender

/// The checkout's templates.
public let templates = TemplateLibrary(directory: repository.appendingPathComponent("Templates"))

/// A tag template of the checkout, by name.
public func template(_ name: String) throws -> TagTemplate { try TagTemplate(contentsOf: templates.tagTemplateURL(name)) }

/// A template file with `json` in a new folder.
public func templateFile(_ json: String, name: String = "custom.json") throws -> URL {
    let url = try newDirectory().appendingPathComponent(name)
    try Data(json.utf8).write(to: url)
    return url
}

/// The checkout's tag wording (`Templates/messages`).
public func tagWording() throws -> TagWording { TagWording(catalog: try templates.messages()) }
